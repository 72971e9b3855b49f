package dev.sabre.firecracker;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * What the generic {@code snapshot.json} does not say about a Firecracker snapshot and a restore or a
 * rebase needs: Full or Diff, the snapshot a Diff must be merged onto (null: a Diff taken since boot,
 * whose holes are zero pages), and which devices the VM had (a restore must override their host ends).
 * Kept as {@code firecracker.json} beside {@code snapshot.json}.
 */
public record SnapshotInfo(SnapshotKind kind, Path base, boolean network, boolean vsock) {
    public static final String FILE = "firecracker.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** Writes {@code firecracker.json} into {@code dir} (temporary name, then rename). */
    public void save(Path dir) {
        JsonObject o = new JsonObject();
        o.addProperty("snapshot_type", kind.apiName());
        o.addProperty("base", base == null ? null : base.toAbsolutePath().toString());
        o.addProperty("network", network);
        o.addProperty("vsock", vsock);
        Path tmp = dir.resolve(FILE + ".tmp");
        try {
            Files.writeString(tmp, GSON.toJson(o) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new VmmException("cannot write " + dir.resolve(FILE) + ": " + e.getMessage(), e);
        }
    }

    /** Reads {@code firecracker.json} from {@code dir}; a snapshot without one is a Full snapshot without devices. */
    public static SnapshotInfo load(Path dir) {
        Path file = dir.resolve(FILE);
        try {
            JsonObject o = GSON.fromJson(Files.readString(file), JsonObject.class);
            String type = o.get("snapshot_type").getAsString();
            SnapshotKind kind = switch (type) {
                case "Full" -> SnapshotKind.FULL;
                case "Diff" -> SnapshotKind.DIFF;
                default -> throw new VmmException(file + ": unknown snapshot_type '" + type + "'");
            };
            Path base = o.has("base") && !o.get("base").isJsonNull() ? Path.of(o.get("base").getAsString()) : null;
            return new SnapshotInfo(kind, base, o.get("network").getAsBoolean(), o.get("vsock").getAsBoolean());
        } catch (NoSuchFileException e) {
            return new SnapshotInfo(SnapshotKind.FULL, null, false, false);
        } catch (IOException | JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
            throw new VmmException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
