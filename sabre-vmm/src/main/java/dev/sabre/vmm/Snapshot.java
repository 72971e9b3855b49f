package dev.sabre.vmm;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A VM snapshot on disk: the VMM's device state and the raw guest memory file, with what a restore
 * must match (function, memory size, guest images, VMM). {@code snapshot.json} in the snapshot
 * directory records it, so a snapshot can be found again by directory.
 *
 * @param function    the function the VM ran
 * @param vmm         the driver that took it ({@code qemu})
 * @param memoryBytes guest RAM size, equal to the memory file's length
 * @param imageId     {@link dev.sabre.vmm.GuestImage#id()} of the images it booted from
 * @param stateFile   device state (QEMU: the migration stream without RAM)
 * @param memoryFile  the guest memory, byte for byte (sparse where the guest never wrote)
 */
public record Snapshot(String function, String vmm, long memoryBytes, String imageId, Path stateFile, Path memoryFile) {
    public static final String METADATA = "snapshot.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** Throws a clear error when this snapshot cannot restore a VM of {@code spec}. */
    public void checkCompatible(VmSpec spec, String driver) {
        if (!function.equals(spec.function())) {
            throw new VmmException("snapshot " + stateFile.getParent() + " is of function '" + function
                    + "', cannot restore function '" + spec.function() + "'");
        }
        if (memoryBytes != spec.memoryBytes()) {
            throw new VmmException("snapshot " + stateFile.getParent() + " has " + (memoryBytes >> 20)
                    + " MiB of guest memory, the VM asks for " + spec.memoryMiB() + " MiB");
        }
        if (!vmm.equals(driver)) {
            throw new VmmException("snapshot " + stateFile.getParent() + " was taken by " + vmm + ", not " + driver);
        }
        if (!imageId.equals(spec.image().id())) {
            throw new VmmException("snapshot " + stateFile.getParent() + " was taken from other guest images (id "
                    + imageId + ", now " + spec.image().id() + "); take a new snapshot");
        }
        try {
            long size = Files.size(memoryFile);
            if (size != memoryBytes) {
                throw new VmmException("memory file " + memoryFile + " has " + size + " bytes, expected " + memoryBytes);
            }
            if (!Files.isRegularFile(stateFile)) {
                throw new VmmException("snapshot state file " + stateFile + " is missing");
            }
        } catch (IOException e) {
            throw new VmmException("snapshot memory file " + memoryFile + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** Writes {@code snapshot.json} next to the state file (write to a temporary name, then rename). */
    public void save() {
        JsonObject o = new JsonObject();
        o.addProperty("function", function);
        o.addProperty("vmm", vmm);
        o.addProperty("memory_bytes", memoryBytes);
        o.addProperty("image_id", imageId);
        o.addProperty("state_file", stateFile.getFileName().toString());
        o.addProperty("memory_file", memoryFile.getFileName().toString());
        writeJson(stateFile.getParent().resolve(METADATA), o);
    }

    /** Writes {@code json} to {@code file} whole or not at all: to a temporary name, then renamed over it. */
    public static void writeJson(Path file, JsonObject json) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, GSON.toJson(json) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new VmmException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads the snapshot in {@code dir}; a missing or malformed {@code snapshot.json} gives a clear error. */
    public static Snapshot load(Path dir) {
        Path meta = dir.resolve(METADATA);
        try {
            JsonObject o = GSON.fromJson(Files.readString(meta), JsonObject.class);
            if (o == null) {
                throw new VmmException(meta + " is empty");
            }
            return new Snapshot(string(o, "function", meta), string(o, "vmm", meta), number(o, "memory_bytes", meta),
                    string(o, "image_id", meta), dir.resolve(string(o, "state_file", meta)),
                    dir.resolve(string(o, "memory_file", meta)));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new VmmException("no snapshot in " + dir + " (" + METADATA + " is missing)", e);
        } catch (IOException | JsonParseException | IllegalStateException | UnsupportedOperationException e) {
            throw new VmmException("cannot read snapshot metadata " + meta + ": " + e.getMessage(), e);
        }
    }

    private static String string(JsonObject o, String field, Path meta) {
        if (!o.has(field) || !o.get(field).isJsonPrimitive()) {
            throw new VmmException(meta + ": field '" + field + "' is missing");
        }
        String v = o.get(field).getAsString();
        if (v.contains("/") && (field.endsWith("_file"))) {
            throw new VmmException(meta + ": field '" + field + "' must be a file name, not a path: " + v);
        }
        return v;
    }

    private static long number(JsonObject o, String field, Path meta) {
        try {
            return o.get(field).getAsLong();
        } catch (RuntimeException e) {
            throw new VmmException(meta + ": field '" + field + "' is missing or not a number");
        }
    }
}
