package dev.sabre.oci;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.airlift.compress.v3.zstd.ZstdOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;

/**
 * Hand-made OCI image layouts for the tests: layers written entry by entry (so hostile entries can be
 * made too), compressed as asked, with a config and a manifest, tagged in {@code index.json}.
 */
public final class TestImages {
    private TestImages() {
    }

    public static final Instant TIME = Instant.parse("2024-05-01T12:00:00Z");

    /** One tar entry; {@code type} is a TarConstants link flag. */
    public record Entry(String name, byte type, int mode, int uid, int gid, Instant time, String content, String link,
                 int major, int minor) {
        public Entry mode(int m) {
            return new Entry(name, type, m, uid, gid, time, content, link, major, minor);
        }

        public Entry owner(int u, int g) {
            return new Entry(name, type, mode, u, g, time, content, link, major, minor);
        }

        public Entry time(Instant t) {
            return new Entry(name, type, mode, uid, gid, t, content, link, major, minor);
        }
    }

    public static Entry file(String name, String content) {
        return new Entry(name, TarConstants.LF_NORMAL, 0644, 0, 0, TIME, content, null, 0, 0);
    }

    public static Entry dir(String name) {
        return new Entry(name, TarConstants.LF_DIR, 0755, 0, 0, TIME, null, null, 0, 0);
    }

    public static Entry symlink(String name, String target) {
        return new Entry(name, TarConstants.LF_SYMLINK, 0777, 0, 0, TIME, null, target, 0, 0);
    }

    public static Entry hardlink(String name, String target) {
        return new Entry(name, TarConstants.LF_LINK, 0644, 0, 0, TIME, null, target, 0, 0);
    }

    public static Entry charDevice(String name, int major, int minor) {
        return new Entry(name, TarConstants.LF_CHR, 0666, 0, 0, TIME, null, null, major, minor);
    }

    public static Entry fifo(String name) {
        return new Entry(name, TarConstants.LF_FIFO, 0600, 0, 0, TIME, null, null, 0, 0);
    }

    public static Entry whiteout(String path) {
        int slash = path.lastIndexOf('/');
        return file(path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1), "");
    }

    public static Entry opaque(String dir) {
        return file(dir + "/.wh..wh..opq", "");
    }

    public enum Compression { NONE, GZIP, ZSTD }

    /** A layer: its entries and how its blob is compressed. */
    public record Layer(Compression compression, List<Entry> entries) {
    }

    public static Layer layer(Compression compression, Entry... entries) {
        return new Layer(compression, List.of(entries));
    }

    public static byte[] tar(List<Entry> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (Entry e : entries) {
                TarArchiveEntry t = new TarArchiveEntry(e.name(), e.type(), true);
                t.setMode(e.mode());
                t.setUserId(e.uid());
                t.setGroupId(e.gid());
                t.setLastModifiedTime(FileTime.from(e.time()));
                if (e.link() != null) {
                    t.setLinkName(e.link());
                }
                if (e.type() == TarConstants.LF_CHR) {
                    t.setDevMajor(e.major());
                    t.setDevMinor(e.minor());
                }
                byte[] content = e.content() == null ? new byte[0] : e.content().getBytes(StandardCharsets.UTF_8);
                if (e.type() == TarConstants.LF_NORMAL) {
                    t.setSize(content.length);
                }
                out.putArchiveEntry(t);
                if (e.type() == TarConstants.LF_NORMAL) {
                    out.write(content);
                }
                out.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    public static byte[] compress(byte[] tar, Compression compression) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = switch (compression) {
            case NONE -> bytes;
            case GZIP -> new java.util.zip.GZIPOutputStream(bytes);
            case ZSTD -> new ZstdOutputStream(bytes);
        }) {
            out.write(tar);
        }
        return bytes.toByteArray();
    }

    /** An OCI image layout directory being written. */
    public static final class Layout {
        public final Path dir;
        private final JsonArray index = new JsonArray();

        public Layout(Path dir) throws IOException {
            this.dir = dir;
            Files.createDirectories(dir.resolve("blobs/sha256"));
            Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        }

        public JsonObject blob(String mediaType, byte[] bytes) throws IOException {
            Digest digest = Digest.of(bytes);
            Files.write(dir.resolve("blobs/sha256").resolve(digest.hex()), bytes);
            JsonObject d = new JsonObject();
            d.addProperty("mediaType", mediaType);
            d.addProperty("digest", digest.toString());
            d.addProperty("size", bytes.length);
            return d;
        }

        /** Writes an image (config with the given Cmd, or none when null) and returns its manifest descriptor. */
        public JsonObject image(List<String> cmd, String architecture, Layer... layers) throws IOException {
            JsonArray layerDescriptors = new JsonArray();
            JsonArray diffIds = new JsonArray();
            for (Layer layer : layers) {
                byte[] tar = tar(layer.entries());
                diffIds.add(Digest.of(tar).toString());
                String type = switch (layer.compression()) {
                    case NONE -> "application/vnd.oci.image.layer.v1.tar";
                    case GZIP -> "application/vnd.oci.image.layer.v1.tar+gzip";
                    case ZSTD -> "application/vnd.oci.image.layer.v1.tar+zstd";
                };
                layerDescriptors.add(blob(type, compress(tar, layer.compression())));
            }
            JsonObject config = new JsonObject();
            config.addProperty("architecture", architecture);
            config.addProperty("os", "linux");
            JsonObject process = new JsonObject();
            if (cmd != null) {
                JsonArray c = new JsonArray();
                cmd.forEach(c::add);
                process.add("Cmd", c);
            }
            JsonArray env = new JsonArray();
            env.add("PATH=/usr/bin:/bin");
            process.add("Env", env);
            process.addProperty("WorkingDir", "/srv");
            process.addProperty("User", "1000:1000");
            config.add("config", process);
            JsonObject rootfs = new JsonObject();
            rootfs.addProperty("type", "layers");
            rootfs.add("diff_ids", diffIds);
            config.add("rootfs", rootfs);
            JsonObject manifest = new JsonObject();
            manifest.addProperty("schemaVersion", 2);
            manifest.addProperty("mediaType", Manifests.OCI_MANIFEST);
            manifest.add("config", blob(Manifests.OCI_CONFIG, config.toString().getBytes(StandardCharsets.UTF_8)));
            manifest.add("layers", layerDescriptors);
            JsonObject descriptor = blob(Manifests.OCI_MANIFEST, manifest.toString().getBytes(StandardCharsets.UTF_8));
            JsonObject platform = new JsonObject();
            platform.addProperty("architecture", architecture);
            platform.addProperty("os", "linux");
            descriptor.add("platform", platform);
            return descriptor;
        }

        /** Tags a manifest (or index) descriptor in index.json. */
        public Layout tag(String tag, JsonObject descriptor) throws IOException {
            JsonObject entry = descriptor.deepCopy();
            JsonObject annotations = new JsonObject();
            annotations.addProperty("org.opencontainers.image.ref.name", tag);
            entry.add("annotations", annotations);
            index.add(entry);
            JsonObject json = new JsonObject();
            json.addProperty("schemaVersion", 2);
            json.addProperty("mediaType", Manifests.OCI_INDEX);
            json.add("manifests", index);
            Files.writeString(dir.resolve("index.json"), json.toString());
            return this;
        }

        /** Writes an image index over {@code manifests} as a blob and returns its descriptor. */
        public JsonObject index(JsonObject... manifests) throws IOException {
            JsonArray list = new JsonArray();
            for (JsonObject m : manifests) {
                list.add(m);
            }
            JsonObject json = new JsonObject();
            json.addProperty("schemaVersion", 2);
            json.addProperty("mediaType", Manifests.OCI_INDEX);
            json.add("manifests", list);
            return blob(Manifests.OCI_INDEX, json.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Pushes {@code source} (any skopeo name) to {@code repo:tag} in {@code registry}; {@code authFile} may be null. */
    public static String push(RegistryServer registry, String source, String repoAndTag, Path authFile, boolean all)
            throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
        if (all) {
            command.add("--all");
        }
        if (authFile != null) {
            command.add("--dest-authfile=" + authFile);
        }
        command.add(source);
        command.add("docker://" + registry.reference(repoAndTag));
        run(command);
        return registry.reference(repoAndTag);
    }

    /** Runs a host command; a failure or a run over a minute throws with its output. */
    public static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }
}
