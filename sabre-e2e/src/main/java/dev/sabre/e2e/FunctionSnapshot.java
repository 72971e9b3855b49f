package dev.sabre.e2e;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.sabre.linux.SparseFile;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A function's snapshot with everything the restore strategies read, in one directory of the cache: the
 * VMM's snapshot (device state + raw memory file), the memory packed as a compressed {@code .sabre}
 * (strategy {@code sabre}), the working set recorded on a first invocation after a restore, raw
 * ({@code reap}) and compressed ({@code reap-compressed}), and the reference reply taken before the snapshot,
 * so every restore can check that the function still answers right. {@code e2e.json} records the reply.
 *
 * @param dir           the snapshot directory
 * @param snapshot      the VMM's snapshot
 * @param input         the request's name used for every invocation
 * @param reply         the reply to {@code input} before the snapshot
 * @param deterministic whether two invocations before the snapshot replied the same (then replies must be
 *                      equal; otherwise equal with every number masked, e.g. matmul's random matrices)
 */
public record FunctionSnapshot(Path dir, Snapshot snapshot, String input, String reply, boolean deterministic) {
    public static final String METADATA = "e2e.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?");

    public String function() {
        return snapshot.function();
    }

    /** The guest memory packed into a compressed .sabre snapshot. */
    public Path sabreFile() {
        return dir.resolve("memory.sabre");
    }

    /** The recorded working set, raw (REAP). */
    public Path rawWorkingSet() {
        return dir.resolve("ws.raw.sabre");
    }

    /** The same working set, compressed (Sabre's REAP compressed). */
    public Path compressedWorkingSet() {
        return dir.resolve("ws.zstd.sabre");
    }

    public boolean hasWorkingSet() {
        return Files.isRegularFile(rawWorkingSet()) && Files.isRegularFile(compressedWorkingSet());
    }

    /** Bytes on disk of the raw memory file (its data extents: a sparse file's holes take no space). */
    public long memoryFileBytes() {
        try {
            return SparseFile.dataExtents(snapshot.memoryFile()).stream().mapToLong(SparseFile.Extent::length).sum();
        } catch (IOException e) {
            throw new VmmException("cannot read " + snapshot.memoryFile() + ": " + e.getMessage(), e);
        }
    }

    /** Size of a file in this snapshot, 0 if it does not exist. */
    public static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Throws a clear error unless {@code actual} is the right reply to {@link #input}. */
    public void checkReply(String what, String actual) {
        boolean ok = deterministic ? reply.equals(actual) : mask(reply).equals(mask(actual));
        if (!ok) {
            throw new VmmException(what + " replied '" + actual + "', expected '" + reply + "'"
                    + (deterministic ? "" : " (numbers aside)"));
        }
    }

    static String mask(String s) {
        return NUMBER.matcher(s).replaceAll("#");
    }

    /** Writes {@code e2e.json} (temporary name, then rename). */
    public void save() {
        JsonObject o = new JsonObject();
        o.addProperty("function", function());
        o.addProperty("input", input);
        o.addProperty("reply", reply);
        o.addProperty("deterministic", deterministic);
        Snapshot.writeJson(dir.resolve(METADATA), o);
    }

    /** Reads the function snapshot in {@code dir}; a missing or malformed one gives a one-line error. */
    public static FunctionSnapshot load(Path dir) {
        Snapshot snapshot = Snapshot.load(dir);
        Path meta = dir.resolve(METADATA);
        try {
            JsonObject o = GSON.fromJson(Files.readString(meta), JsonObject.class);
            FunctionSnapshot fs = new FunctionSnapshot(dir, snapshot, o.get("input").getAsString(),
                    o.get("reply").getAsString(), o.get("deterministic").getAsBoolean());
            if (!o.get("function").getAsString().equals(snapshot.function())) {
                throw new VmmException(meta + " describes function '" + o.get("function").getAsString()
                        + "' but the snapshot is of '" + snapshot.function() + "'");
            }
            return fs;
        } catch (NoSuchFileException e) {
            throw new VmmException("no snapshot in " + dir + " (" + METADATA + " is missing; take one with 'sabre vm snapshot')", e);
        } catch (IOException | JsonParseException | IllegalStateException | NullPointerException
                 | UnsupportedOperationException e) {
            throw new VmmException("cannot read " + meta + ": " + e.getMessage(), e);
        }
    }
}
