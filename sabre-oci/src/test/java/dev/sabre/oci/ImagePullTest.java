package dev.sabre.oci;

import static dev.sabre.oci.TestImages.Compression.GZIP;
import static dev.sabre.oci.TestImages.Compression.NONE;
import static dev.sabre.oci.TestImages.Compression.ZSTD;
import static dev.sabre.oci.TestImages.charDevice;
import static dev.sabre.oci.TestImages.dir;
import static dev.sabre.oci.TestImages.fifo;
import static dev.sabre.oci.TestImages.file;
import static dev.sabre.oci.TestImages.hardlink;
import static dev.sabre.oci.TestImages.layer;
import static dev.sabre.oci.TestImages.opaque;
import static dev.sabre.oci.TestImages.symlink;
import static dev.sabre.oci.TestImages.whiteout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pulls hand-made images through a real registry (Debian's docker-registry, started here), OCI layouts and
 * archives, and checks the applied tree file by file, the cache, and every refusal.
 */
class ImagePullTest {
    @TempDir
    static Path shared;
    @TempDir
    Path dir;

    static RegistryServer registry;
    static Path layouts;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = RegistryServer.start(shared.resolve("registry"), null);
        layouts = Files.createDirectories(shared.resolve("layouts"));
    }

    @AfterAll
    static void stopRegistry() throws Exception {
        if (registry != null) {
            registry.close();
        }
    }

    private ImagePuller puller() {
        return new ImagePuller(new BlobStore(dir.resolve("cache")), ImagePuller.Options.defaults());
    }

    /** Three layers (gzip, zstd, plain tar) exercising every entry kind, whiteouts and opaque directories. */
    static TestImages.Layout layered(Path at) throws IOException {
        return layered(at, ZSTD);
    }

    static TestImages.Layout layered(Path at, TestImages.Compression second) throws IOException {
        TestImages.Layout layout = new TestImages.Layout(at);
        JsonObject image = layout.image(List.of("/bin/tool", "--serve"), "amd64",
                layer(GZIP,
                        dir("bin"), file("bin/tool", "#!/bin/sh\n").mode(04755),
                        dir("data").owner(1000, 1000), file("data/original", "shared").mode(0640).owner(1000, 1000),
                        dir("dev"), charDevice("dev/null", 1, 3),
                        dir("etc"), file("etc/hostname", "base"), file("etc/passwd", "root:x:0:0"),
                        dir("opt"), dir("opt/app"), file("opt/app/old.txt", "old"), dir("opt/app/sub"),
                        file("opt/app/sub/deep.txt", "deep"),
                        dir("run"), fifo("run/fifo"),
                        dir("usr"), dir("usr/lib"), symlink("lib", "usr/lib"),
                        file("tmpfile", "x"),
                        dir("var"), file("var/gone", "whited out"), dir("var/cache"), file("var/cache/a", "a")),
                layer(second,
                        whiteout("var/gone"), whiteout("var/cache"),
                        dir("opt/app"), opaque("opt/app"), file("opt/app/new.txt", "new"),
                        hardlink("data/link", "data/original"),
                        file("lib/libx.so", "lib"),
                        file("etc/hostname", "changed"),
                        symlink("tmpfile", "/etc/hostname")),
                layer(NONE,
                        file("etc/motd", "hi").time(Instant.parse("2020-01-02T03:04:05Z")),
                        file("opt/app/late.txt", "late"), opaque("opt/app"),
                        dir("srv").mode(0750),
                        file("tmpfile", "plain again"),
                        symlink("libs", "/usr/lib"), file("libs/abs.so", "abs")));
        return layout.tag("v1", image);
    }

    /** What {@link #layered} must give, one line per path. */
    static Map<String, String> layeredExpectation() {
        String t = TestImages.TIME.toString();
        Map<String, String> m = new TreeMap<>();
        m.put("bin", "dir 755 0:0");
        m.put("bin/tool", "file 4755 0:0 " + t + " links=1 #!/bin/sh\n");
        m.put("data", "dir 755 1000:1000");
        m.put("data/link", "file 640 1000:1000 " + t + " links=2 shared");
        m.put("data/original", "file 640 1000:1000 " + t + " links=2 shared");
        m.put("dev", "dir 755 0:0");
        m.put("dev/null", "chr 1,3 666 0:0");
        m.put("etc", "dir 755 0:0");
        m.put("etc/hostname", "file 644 0:0 " + t + " links=1 changed");
        m.put("etc/motd", "file 644 0:0 2020-01-02T03:04:05Z links=1 hi");
        m.put("etc/passwd", "file 644 0:0 " + t + " links=1 root:x:0:0");
        m.put("lib", "symlink usr/lib 0:0");
        m.put("libs", "symlink /usr/lib 0:0");
        m.put("opt", "dir 755 0:0");
        m.put("opt/app", "dir 755 0:0");
        m.put("opt/app/late.txt", "file 644 0:0 " + t + " links=1 late");
        m.put("run", "dir 755 0:0");
        m.put("run/fifo", "fifo 600 0:0");
        m.put("srv", "dir 750 0:0");
        m.put("tmpfile", "file 644 0:0 " + t + " links=1 plain again");
        m.put("usr", "dir 755 0:0");
        m.put("usr/lib", "dir 755 0:0");
        m.put("usr/lib/abs.so", "file 644 0:0 " + t + " links=1 abs");
        m.put("usr/lib/libx.so", "file 644 0:0 " + t + " links=1 lib");
        m.put("var", "dir 755 0:0");
        return m;
    }

    /** Every path under {@code root} described by type, mode, owner, time (not for directories) and content. */
    static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.filter(p -> !p.equals(root)).toList()) {
                Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
                int mode = (Integer) a.get("mode");
                String owner = a.get("uid") + ":" + a.get("gid");
                String perm = Integer.toOctalString(mode & 07777);
                String line = switch (mode & 0170000) {
                    case 0040000 -> "dir " + perm + " " + owner;
                    case 0120000 -> "symlink " + Files.readSymbolicLink(p) + " " + owner;
                    case 0100000 -> "file " + perm + " " + owner + " "
                            + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant()
                            + " links=" + a.get("nlink") + " " + Files.readString(p);
                    case 0020000 -> {
                        long rdev = (Long) a.get("rdev");
                        yield "chr " + ((rdev >> 8) & 0xfff) + "," + (rdev & 0xff) + " " + perm + " " + owner;
                    }
                    case 0010000 -> "fifo " + perm + " " + owner;
                    default -> "other " + Integer.toOctalString(mode);
                };
                m.put(root.relativize(p).toString(), line);
            }
        }
        return m;
    }

    @Test
    void registryPullAppliesEveryLayerFileByFileAndTheSecondPullFetchesNoBlob() throws Exception {
        layered(layouts.resolve("layered"));
        String ref = TestImages.push(registry, "oci:" + layouts.resolve("layered") + ":v1", "sabre/layered:v1", null, false);
        ImagePuller puller = puller();

        int getsBefore = registry.blobGets().size();
        ImagePuller.Pulled first = puller.pull(ref, dir.resolve("first"));
        int firstGets = registry.blobGets().size() - getsBefore;
        assertEquals(layeredExpectation(), describe(first.rootfs()));
        Map<String, Object> original = Files.readAttributes(first.rootfs().resolve("data/original"), "unix:ino");
        Map<String, Object> link = Files.readAttributes(first.rootfs().resolve("data/link"), "unix:ino");
        assertEquals(original.get("ino"), link.get("ino"), "a hard link across layers shares the inode");
        assertEquals(List.of("/bin/tool", "--serve"), first.config().argv());
        assertEquals(List.of("PATH=/usr/bin:/bin"), first.config().env());
        assertEquals("/srv", first.config().workingDir());
        assertEquals("1000:1000", first.config().user());
        assertEquals(first.config(), ImageConfig.parse(Files.readAllBytes(first.configFile()),
                Digest.of(Files.readAllBytes(first.configFile())), ref));
        assertEquals(4, first.stats().blobsFetched(), "three layers and the config");
        assertEquals(4, firstGets, "the registry served each blob once");

        int getsBeforeSecond = registry.blobGets().size();
        ImagePuller.Pulled second = puller.pull(ref, dir.resolve("second"));
        assertEquals(List.of(), registry.blobGets().subList(getsBeforeSecond, registry.blobGets().size()),
                "a second pull fetches no blob");
        assertEquals(0, second.stats().blobsFetched());
        assertEquals(4, second.stats().blobsCached());
        assertEquals(first.manifest(), second.manifest());
        assertEquals(layeredExpectation(), describe(second.rootfs()));
        System.out.printf("pull of %s: first %.1f ms (%d blobs, %d bytes fetched, %d blob GETs), "
                        + "second %.1f ms (%d blobs fetched, 0 blob GETs): %.2fx%n", ref,
                first.stats().totalNanos() / 1e6, first.stats().blobsFetched(), first.stats().bytesFetched(), firstGets,
                second.stats().totalNanos() / 1e6, second.stats().blobsFetched(),
                (double) first.stats().totalNanos() / second.stats().totalNanos());
    }

    @Test
    void ociLayoutOciArchiveAndDockerArchiveGiveTheSameTree() throws Exception {
        // A docker archive cannot hold zstd layers.
        Path layout = layered(dir.resolve("layout"), GZIP).dir;
        Path ociArchive = dir.resolve("image.oci.tar");
        Path dockerArchive = dir.resolve("image.docker.tar");
        TestImages.run(List.of("skopeo", "copy", "--quiet", "oci:" + layout + ":v1", "oci-archive:" + ociArchive));
        TestImages.run(List.of("skopeo", "copy", "--quiet", "oci:" + layout + ":v1",
                "docker-archive:" + dockerArchive + ":sabre/layered:v1"));
        ImagePuller puller = puller();
        for (String ref : List.of("oci:" + layout + ":v1", "oci-archive:" + ociArchive, "docker-archive:" + dockerArchive)) {
            ImagePuller.Pulled pulled = puller.pull(ref, dir.resolve("out-" + ref.substring(0, ref.indexOf(':'))));
            assertEquals(layeredExpectation(), describe(pulled.rootfs()), ref);
            assertEquals(List.of("/bin/tool", "--serve"), pulled.config().argv(), ref);
        }
    }

    @Test
    void anIndexResolvesToItsLinuxAmd64ImageAndOneWithoutItIsRefused() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(layouts.resolve("multi"));
        JsonObject amd64 = layout.image(List.of("/amd64"), "amd64", layer(GZIP, file("which", "amd64")));
        JsonObject arm64 = layout.image(List.of("/arm64"), "arm64", layer(GZIP, file("which", "arm64")));
        layout.tag("both", layout.index(arm64, amd64)).tag("arm", layout.index(arm64));
        String both = TestImages.push(registry, "oci:" + layout.dir + ":both", "sabre/multi:both", null, true);
        String arm = TestImages.push(registry, "oci:" + layout.dir + ":arm", "sabre/multi:arm", null, true);

        ImagePuller.Pulled pulled = puller().pull(both, dir.resolve("both"));
        assertEquals("amd64", Files.readString(pulled.rootfs().resolve("which")));
        assertEquals(Digest.parse(amd64.get("digest").getAsString(), "test"), pulled.manifest());

        OciException e = assertThrows(OciException.class, () -> puller().pull(arm, dir.resolve("arm")));
        assertTrue(e.getMessage().startsWith("image " + arm + ": index sha256:"), e.getMessage());
        assertTrue(e.getMessage().endsWith("has no linux/amd64 image (linux/arm64)"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("arm")));
    }

    @Test
    void anImageWithNeitherEntrypointNorCmdIsRefused() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("nocmd"));
        layout.tag("v1", layout.image(null, "amd64", layer(GZIP, file("a", "a"))));
        OciException e = assertThrows(OciException.class,
                () -> puller().pull("oci:" + layout.dir + ":v1", dir.resolve("out")));
        assertTrue(e.getMessage().matches("image oci:.*: config sha256:[0-9a-f]{12}: neither config.Entrypoint nor "
                + "config.Cmd is set: nothing to run"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("out")));
    }

    @Test
    void anImageThatUnpacksBeyondTheLimitIsRefused() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("bomb"));
        // 2 MiB of zeros compress to a few KiB.
        layout.tag("v1", layout.image(List.of("/x"), "amd64", layer(GZIP, file("small", "ok"),
                file("zeros", "\0".repeat(2 << 20)))));
        ImagePuller limited = new ImagePuller(new BlobStore(dir.resolve("cache")),
                ImagePuller.Options.defaults().withMaxBytes(1 << 20));
        OciException e = assertThrows(OciException.class,
                () -> limited.pull("oci:" + layout.dir + ":v1", dir.resolve("out")));
        assertTrue(e.getMessage().endsWith(": entry 'zeros': the image's files exceed the limit of 1048576 bytes"),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("out")));
        assertNoTemporaries(dir);
        ImagePuller roomy = new ImagePuller(new BlobStore(dir.resolve("cache")),
                ImagePuller.Options.defaults().withMaxBytes(3 << 20));
        assertEquals((2 << 20) + 2, roomy.pull("oci:" + layout.dir + ":v1", dir.resolve("out")).stats().bytesApplied());
    }

    @Test
    void aLayerCorruptedInTheRegistryOrInTheCacheIsRefusedAndRefetched() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(layouts.resolve("corrupt"));
        JsonObject image = layout.image(List.of("/x"), "amd64", layer(GZIP, file("payload", "the real bytes " + dir)));
        layout.tag("v1", image);
        String ref = TestImages.push(registry, "oci:" + layout.dir + ":v1", "sabre/corrupt:v1", null, false);
        Digest manifestDigest = Digest.parse(image.get("digest").getAsString(), "test");
        Digest layerDigest = layerDigest(layout, manifestDigest);

        // In the cache: the first pull stores it, then it rots; the next pull notices, drops it, and says so.
        ImagePuller puller = puller();
        puller.pull(ref, dir.resolve("good"));
        Path cached = puller.store().path(layerDigest);
        byte[] bytes = Files.readAllBytes(cached);
        bytes[bytes.length / 2] ^= 1;
        Files.write(cached, bytes);
        OciException e = assertThrows(OciException.class, () -> puller.pull(ref, dir.resolve("rotten")));
        assertTrue(e.getMessage().startsWith("image " + ref + ": layer " + layerDigest.shortForm() + ": digest mismatch"),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("rotten")));
        assertNoTemporaries(dir);
        assertFalse(Files.exists(cached), "the bad blob left the cache");
        ImagePuller.Pulled again = puller.pull(ref, dir.resolve("again"));
        assertEquals(1, again.stats().blobsFetched(), "only the dropped layer is fetched again");

        // In the registry: skopeo checks what it fetches.
        Path data = blobData(layerDigest);
        byte[] served = Files.readAllBytes(data);
        served[served.length / 2] ^= 1;
        Files.write(data, served);
        ImagePuller fresh = new ImagePuller(new BlobStore(dir.resolve("cache2")), ImagePuller.Options.defaults());
        e = assertThrows(OciException.class, () -> fresh.pull(ref, dir.resolve("bad")));
        assertTrue(e.getMessage().startsWith("image " + ref + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(layerDigest.hex()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(fresh.store().has(layerDigest));
        assertFalse(Files.exists(dir.resolve("bad")));
    }

    /** Where the registry stores a blob's bytes. */
    private static Path blobData(Digest digest) {
        return registry.storage().resolve("docker/registry/v2/blobs/sha256").resolve(digest.hex().substring(0, 2))
                .resolve(digest.hex()).resolve("data");
    }

    private static Digest layerDigest(TestImages.Layout layout, Digest manifest) throws IOException {
        byte[] raw = Files.readAllBytes(layout.dir.resolve("blobs/sha256").resolve(manifest.hex()));
        return ((Manifests.Manifest) Manifests.parse(raw, manifest, "test")).layers().getFirst().digest();
    }

    @Test
    void registryErrors404DownAnd500AreOneLineNamingTheImage() throws Exception {
        String unknown = registry.host() + "/sabre/nothing:here";
        OciException e = assertThrows(OciException.class, () -> puller().pull(unknown, dir.resolve("a")));
        assertTrue(e.getMessage().startsWith("image " + unknown + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("manifest unknown"), e.getMessage());

        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        String down = "127.0.0.1:" + closedPort + "/sabre/x:v1";
        e = assertThrows(OciException.class, () -> puller().pull(down, dir.resolve("b")));
        assertTrue(e.getMessage().startsWith("image " + down + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
        // A 500: the registry's record of the tag is broken in its storage.
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("five"));
        layout.tag("v1", layout.image(List.of("/x"), "amd64", layer(GZIP, file("a", "a"))));
        String broken = TestImages.push(registry, "oci:" + layout.dir + ":v1", "sabre/five:v1", null, false);
        Files.writeString(registry.storage().resolve("docker/registry/v2/repositories/sabre/five/_manifests/tags/v1/current/link"),
                "sha256:not-a-digest");
        e = assertThrows(OciException.class, () -> puller().pull(broken, dir.resolve("c")));
        assertTrue(e.getMessage().startsWith("image " + broken + ": "), e.getMessage());
        assertTrue(e.getMessage().endsWith("received unexpected HTTP status: 500 Internal Server Error"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("a")) || Files.exists(dir.resolve("b")) || Files.exists(dir.resolve("c")));
    }

    @Test
    void basicAuthRegistryRefusesAnonymousPullsAndServesWithAnAuthFile() throws Exception {
        String password = "pw-" + System.nanoTime();
        Path htpasswd = dir.resolve("htpasswd");
        Files.writeString(htpasswd, "alice:" + bcrypt(password) + "\n");
        Path authFile = dir.resolve("auth.json");
        Files.createFile(authFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (RegistryServer secured = RegistryServer.start(dir.resolve("secured"), htpasswd)) {
            Files.writeString(authFile, "{\"auths\":{\"" + secured.host() + "\":{\"auth\":\"" + java.util.Base64.getEncoder()
                    .encodeToString(("alice:" + password).getBytes(StandardCharsets.UTF_8)) + "\"}}}");
            TestImages.Layout layout = new TestImages.Layout(dir.resolve("small"));
            layout.tag("v1", layout.image(List.of("/x"), "amd64", layer(GZIP, file("secret", "s"))));
            String ref = TestImages.push(secured, "oci:" + layout.dir + ":v1", "sabre/private:v1", authFile, false);

            OciException e = assertThrows(OciException.class, () -> puller().pull(ref, dir.resolve("anon")));
            assertTrue(e.getMessage().startsWith("image " + ref + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("unauthorized") || e.getMessage().contains("authentication required"),
                    e.getMessage());
            assertFalse(e.getMessage().contains(password));

            ImagePuller authed = new ImagePuller(new BlobStore(dir.resolve("cache")),
                    ImagePuller.Options.defaults().withAuthFile(authFile));
            assertEquals("s", Files.readString(authed.pull(ref, dir.resolve("authed")).rootfs().resolve("secret")));
        }
    }

    @Test
    void bearerTokenRegistryRefusesAnonymousPullsAndServesWithAnAuthFile() throws Exception {
        String password = "pw-" + System.nanoTime();
        Path authFile = dir.resolve("auth.json");
        Files.createFile(authFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (TokenAuthServer tokens = TokenAuthServer.start(dir.resolve("tokens"), "bob", password);
             RegistryServer secured = tokens.startRegistry(dir.resolve("bearer"))) {
            Files.writeString(authFile, "{\"auths\":{\"" + secured.host() + "\":{\"auth\":\"" + java.util.Base64.getEncoder()
                    .encodeToString(("bob:" + password).getBytes(StandardCharsets.UTF_8)) + "\"}}}");
            TestImages.Layout layout = new TestImages.Layout(dir.resolve("small"));
            layout.tag("v1", layout.image(List.of("/x"), "amd64", layer(GZIP, file("secret", "t"))));
            String ref = TestImages.push(secured, "oci:" + layout.dir + ":v1", "sabre/tokened:v1", authFile, false);
            int grantedForPush = tokens.granted.get();
            assertTrue(grantedForPush > 0, "the push went through the token server");

            OciException e = assertThrows(OciException.class, () -> puller().pull(ref, dir.resolve("anon")));
            assertTrue(e.getMessage().startsWith("image " + ref + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("unauthorized") || e.getMessage().contains("authentication required"),
                    e.getMessage());
            assertFalse(e.getMessage().contains(password));
            assertTrue(tokens.refused.get() > 0, "the anonymous client asked for a token and was refused");
            assertFalse(Files.exists(dir.resolve("anon")));

            ImagePuller authed = new ImagePuller(new BlobStore(dir.resolve("cache")),
                    ImagePuller.Options.defaults().withAuthFile(authFile));
            assertEquals("t", Files.readString(authed.pull(ref, dir.resolve("authed")).rootfs().resolve("secret")));
            assertTrue(tokens.granted.get() > grantedForPush, "the pull was served with a bearer token");
            // The registry checks what it is given: a token it did not get from its issuer is refused.
            var forged = (java.net.HttpURLConnection) java.net.URI.create("http://" + secured.host()
                    + "/v2/sabre/tokened/manifests/v1").toURL().openConnection();
            forged.setRequestProperty("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.");
            assertEquals(401, forged.getResponseCode());
            forged.disconnect();
        }
    }

    /** A bcrypt hash for htpasswd, from the C library's crypt(3) through Python (Debian's libxcrypt). */
    private static String bcrypt(String password) throws Exception {
        Process p = new ProcessBuilder("python3", "-W", "ignore", "-c",
                "import crypt,sys; print(crypt.crypt(sys.stdin.readline().strip(), crypt.mksalt(crypt.METHOD_BLOWFISH)))")
                .start();
        p.getOutputStream().write((password + "\n").getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String hash = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor());
        assertTrue(hash.startsWith("$2"), hash);
        return hash;
    }

    /**
     * Hostile layers, each with the message that must refuse it. The root is built at
     * {@code DIR/out/.image.tmp-ID/rootfs}, so {@code ../../../outside} is {@code DIR/outside}.
     */
    static Stream<Arguments> hostileLayers() {
        return Stream.of(
                Arguments.of("dot-dot entry", List.of(layer(GZIP, file("../../../outside/sentinel", "pwned"))),
                        "entry '../../../outside/sentinel': '..' component refused"),
                Arguments.of("absolute entry", List.of(layer(GZIP, file("@OUTSIDE@/abs", "pwned"))),
                        "entry '@OUTSIDE@/abs': absolute path refused"),
                Arguments.of("hard link to outside", List.of(layer(GZIP,
                                hardlink("stolen", "../../../outside/sentinel"))),
                        "entry 'stolen': hard link target: '..' component refused"),
                Arguments.of("hard link to an absolute path", List.of(layer(GZIP,
                                hardlink("stolen", "@OUTSIDE@/sentinel"))),
                        "entry 'stolen': hard link target: absolute path refused"),
                Arguments.of("write through a symlink out", List.of(layer(GZIP,
                                symlink("up", "../../../outside"), file("up/pwned", "pwned"))),
                        "entry 'up/pwned': a symbolic link on the way climbs out of the image root"),
                Arguments.of("write through a lower layer's symlink out", List.of(
                                layer(GZIP, symlink("up", "../../../outside")),
                                layer(GZIP, file("up/pwned", "pwned"))),
                        "entry 'up/pwned': a symbolic link on the way climbs out of the image root"),
                Arguments.of("absolute symlink climbing out", List.of(layer(GZIP,
                                symlink("evil", "/../../../outside"), file("evil/pwned", "pwned"))),
                        "entry 'evil/pwned': a symbolic link on the way climbs out of the image root"),
                Arguments.of("chain of symlinks out", List.of(layer(GZIP,
                                symlink("a", "b"), symlink("b", "../../../outside"), file("a/pwned", "pwned"))),
                        "entry 'a/pwned': a symbolic link on the way climbs out of the image root"),
                Arguments.of("hard link through a symlink out", List.of(layer(GZIP,
                                symlink("up", "../../../outside"), hardlink("h", "up/sentinel"))),
                        "entry 'h': hard link target: a symbolic link on the way climbs out of the image root"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileLayers")
    void hostileLayerEntriesAreRefusedAndNothingIsWrittenOutsideTheRoot(String name, List<TestImages.Layer> layers,
                                                                       String expected) throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("sentinel"), "safe");
        Path out = Files.createDirectories(dir.resolve("out"));
        List<TestImages.Layer> resolved = layers.stream().map(l -> new TestImages.Layer(l.compression(),
                l.entries().stream().map(e -> new TestImages.Entry(e.name().replace("@OUTSIDE@", outside.toString()),
                        e.type(), e.mode(), e.uid(), e.gid(), e.time(), e.content(),
                        e.link() == null ? null : e.link().replace("@OUTSIDE@", outside.toString()),
                        e.major(), e.minor())).toList())).toList();
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        layout.tag("v1", layout.image(List.of("/x"), "amd64", resolved.toArray(TestImages.Layer[]::new)));
        String repo = "sabre/hostile-" + name.replace(' ', '-').replace("'", "") + ":v1";
        String ref = TestImages.push(registry, "oci:" + layout.dir + ":v1", repo, null, false);

        OciException e = assertThrows(OciException.class, () -> puller().pull(ref, out.resolve("image")));
        assertTrue(e.getMessage().matches("image \\Q" + ref + "\\E: layer sha256:[0-9a-f]{12}: .*"), e.getMessage());
        assertTrue(e.getMessage().contains(expected.replace("@OUTSIDE@", outside.toString())), e.getMessage());
        assertEquals("safe", Files.readString(outside.resolve("sentinel")));
        try (Stream<Path> s = Files.list(outside)) {
            assertEquals(List.of(outside.resolve("sentinel")), s.toList());
        }
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(), s.toList(), "neither the image nor its temporary directory is left");
        }
    }

    static void assertNoTemporaries(Path in) throws IOException {
        try (Stream<Path> s = Files.list(in)) {
            List<String> temporaries = new ArrayList<>(s.map(p -> p.getFileName().toString())
                    .filter(n -> n.contains(".tmp-")).toList());
            assertEquals(List.of(), temporaries);
        }
    }
}
