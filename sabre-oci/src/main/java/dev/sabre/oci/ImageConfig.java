package dev.sabre.oci;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * What an image says about the process it runs (the {@code config} object of the OCI image configuration:
 * Entrypoint, Cmd, Env, WorkingDir, User) and the digests of its uncompressed layers ({@code rootfs.diff_ids}).
 */
public record ImageConfig(List<String> entrypoint, List<String> cmd, List<String> env, String workingDir,
                          String user, List<Digest> diffIds) {

    /** The command line the image runs: Entrypoint followed by Cmd. */
    public List<String> argv() {
        List<String> argv = new ArrayList<>(entrypoint);
        argv.addAll(cmd);
        return argv;
    }

    /**
     * Parses and checks an image configuration: it must be for linux/amd64 (when it says) and name a
     * process to run.
     */
    public static ImageConfig parse(byte[] bytes, Digest digest, String image) {
        String where = "image " + image + ": config " + digest.shortForm();
        JsonObject json = Manifests.object(bytes, where);
        String os = Manifests.string(json, "os", where, false);
        String architecture = Manifests.string(json, "architecture", where, false);
        if ((os != null && !os.equals("linux")) || (architecture != null && !architecture.equals("amd64"))) {
            throw new OciException(where + ": image is for " + os + "/" + architecture + ", not linux/amd64");
        }
        JsonObject config = json.get("config") instanceof JsonObject c ? c : new JsonObject();
        List<String> entrypoint = strings(config, "Entrypoint", where);
        List<String> cmd = strings(config, "Cmd", where);
        if (entrypoint.isEmpty() && cmd.isEmpty()) {
            throw new OciException(where + ": neither config.Entrypoint nor config.Cmd is set: nothing to run");
        }
        List<String> env = strings(config, "Env", where);
        String workingDir = Manifests.string(config, "WorkingDir", where + ": config", false);
        String user = Manifests.string(config, "User", where + ": config", false);
        if (!(json.get("rootfs") instanceof JsonObject rootfs)) {
            throw new OciException(where + ": rootfs is missing");
        }
        List<Digest> diffIds = new ArrayList<>();
        for (JsonElement e : Manifests.array(rootfs, "diff_ids", where + ": rootfs")) {
            diffIds.add(Digest.parse(e.isJsonPrimitive() ? e.getAsString() : null,
                    where + ": rootfs.diff_ids[" + diffIds.size() + "]"));
        }
        return new ImageConfig(entrypoint, cmd, env, workingDir == null ? "" : workingDir, user == null ? "" : user,
                List.copyOf(diffIds));
    }

    private static List<String> strings(JsonObject config, String field, String where) {
        JsonElement e = config.get(field);
        if (e == null || e.isJsonNull()) {
            return List.of();
        }
        if (!(e instanceof JsonArray array)) {
            throw new OciException(where + ": config." + field + " is not an array of strings");
        }
        List<String> values = new ArrayList<>();
        for (JsonElement v : array) {
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw new OciException(where + ": config." + field + "[" + values.size() + "] is not a string");
            }
            values.add(v.getAsString());
        }
        return List.copyOf(values);
    }
}
