package dev.sabre.vmm.image;

import dev.sabre.oci.RegistryServer;
import dev.sabre.oci.TestImages;
import dev.sabre.oci.TokenAuthServer;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;


import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

import static dev.sabre.oci.TestImages.Compression.GZIP;
import static dev.sabre.oci.TestImages.dir;
import static dev.sabre.oci.TestImages.file;
import static dev.sabre.oci.TestImages.layer;
import static dev.sabre.oci.TestImages.symlink;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An image function's root file system from a hand-made OCI layout, without a VM: the guest runtime is added
 * where the image holds hostile things at its names (links out of the root at /sabre and /proc, a file at
 * /dev), nothing outside the root is written, the ext4 (read back with debugfs) holds the runtime and the
 * process as the config says; the second build is the cached ext4 with no blob fetched; an image with no
 * process is refused in one line and leaves nothing in the cache.
 */
class ImageRootfsBuilderTest {
    @TempDir
    Path dir;

    private FunctionCatalog catalog() throws Exception {
        Path functions = Files.createDirectories(dir.resolve("functions"));
        Files.createDirectories(functions.resolve(FunctionCatalog.COMMON));
        return new FunctionCatalog(functions, dir.resolve("cache/functions"));
    }

    /** What debugfs prints for the request, without its version banner. */
    private static String debugfs(Path image, String request) {
        return Commands.output(List.of("debugfs", "-R", request, image.toString()), Duration.ofSeconds(60))
                .replaceFirst("\\Adebugfs [^\n]*\n", "");
    }

    @Test
    void runtimeReplacesHostileNamesAndTheSecondBuildIsCached() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        layout.tag("v1", layout.image(List.of("/bin/server", "--port", "50051"), "amd64", layer(GZIP,
                dir("etc/"), file("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
                file("etc/group", "app:x:1000:\nextra:x:77:app\n"),
                symlink("sabre", "../../../../../../../../" + outside), symlink("proc", "/etc"),
                file("dev", "a file where a mount point goes"), file("bin/server", "#!/bin/sh\n"))));
        Cache cache = new Cache(dir.resolve("cache"));
        FunctionSource function = catalog().imageFunction("hostile", new FunctionImage("oci:" + layout.dir + ":v1", false));
        ImageRootfsBuilder builder = new ImageRootfsBuilder(cache, StepLog.silent());

        ImageRootfsBuilder.Built first = builder.build(function);
        assertFalse(first.cached());
        assertEquals(2, first.blobsFetched(), "the config and the layer were copied into the image cache");
        try (Stream<Path> left = Files.list(outside)) {
            assertEquals(List.of(), left.toList(), "nothing written through the image's /sabre link");
        }
        ImageProcess process = first.process();
        assertEquals(List.of("/bin/server", "--port", "50051"), process.argv());
        assertEquals(List.of(1000L, 1000L), List.of(process.uid(), process.gid()));
        assertEquals("/srv", process.workDir());
        assertEquals(List.of(), process.groups(), "User 1000:1000 names its group: no supplementary groups, as runc");

        String root = debugfs(first.image(), "ls -l /");
        for (String name : List.of("sabre", "proc", "dev", "sys", "tmp", "run", "srv")) {
            assertTrue(root.lines().anyMatch(l -> l.matches(".*\\s40755\\s.*\\s" + name + "\\s*")), name + " is a directory:\n" + root);
        }
        String runtime = debugfs(first.image(), "ls -l /sabre");
        for (String name : List.of("init", "busybox", "exec")) {
            assertTrue(runtime.lines().anyMatch(l -> l.matches(".*\\s100755\\s.*\\s" + name + "\\s*")), name + ":\n" + runtime);
        }
        assertEquals(process.script("/sabre/busybox", "/sabre/exec"), debugfs(first.image(), "cat /sabre/process"));
        assertTrue(debugfs(first.image(), "cat /sabre/process").contains("/sabre/exec 1000 1000 '' '/srv'"));
        assertEquals("hostile\n", debugfs(first.image(), "cat /sabre/function-name"));

        ImageRootfsBuilder.Built second = builder.build(function);
        assertTrue(second.cached());
        assertEquals(0, second.blobsFetched());
        assertEquals(first.image(), second.image());
        assertNull(second.process());
    }

    @Test
    void anImageWithoutAProcessIsRefusedInOneLineAndLeavesNothing() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        layout.tag("v1", layout.image(null, "amd64", layer(GZIP, file("hello", "hi\n"))));
        Cache cache = new Cache(dir.resolve("cache"));
        FunctionSource function = catalog().imageFunction("nocmd", new FunctionImage("oci:" + layout.dir + ":v1", false));
        VmmException e = assertThrows(VmmException.class, () -> new ImageRootfsBuilder(cache, StepLog.silent()).build(function));
        assertTrue(e.getMessage().startsWith("function nocmd: image oci:" + layout.dir + ":v1: config sha256:"), e.getMessage());
        assertTrue(e.getMessage().endsWith("neither config.Entrypoint nor config.Cmd is set: nothing to run"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        try (Stream<Path> left = Files.list(cache.dir("rootfs"))) {
            assertEquals(List.of(), left.toList(), "no tree, no image");
        }
    }

    @Test
    void anImageLargerThanItsBoundIsRefusedInOneLineAndLeavesNothing() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        // 64 KiB of zeros: a tiny gzip layer that inflates past the bound.
        layout.tag("v1", layout.image(List.of("/bin/true"), "amd64", layer(GZIP, file("small", "hi\n"),
                file("big", "\0".repeat(64 * 1024)))));
        Cache cache = new Cache(dir.resolve("cache"));
        FunctionSource function = catalog().imageFunction("big", new FunctionImage("oci:" + layout.dir + ":v1", false));
        VmmException e = assertThrows(VmmException.class,
                () -> new ImageRootfsBuilder(cache, StepLog.silent(), 16 * 1024).build(function));
        assertTrue(e.getMessage().startsWith("function big (image oci:" + layout.dir + ":v1): building its root file system failed: "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("entry 'big': the image's files exceed the limit of 16384 bytes"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        try (Stream<Path> left = Files.list(cache.dir("rootfs"))) {
            assertEquals(List.of(), left.toList(), "no tree, no image");
        }
    }

    @Test
    void anImageFromARegistryThatNeedsCredentialsBuildsWithItsAuthFileOnly() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        layout.tag("v1", layout.image(List.of("/bin/server"), "amd64", layer(GZIP, file("bin/server", "#!/bin/sh\n"))));
        String password = "pw-" + System.nanoTime();
        Path authFile = dir.resolve("auth.json");
        try (TokenAuthServer tokens = TokenAuthServer.start(dir.resolve("tokens"), "carol", password);
             RegistryServer registry = tokens.startRegistry(null)) {
            Files.writeString(authFile, "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\""
                    + Base64.getEncoder().encodeToString(("carol:" + password).getBytes(StandardCharsets.UTF_8)) + "\"}}}");
            String ref = TestImages.push(registry, "oci:" + layout.dir + ":v1", "sabre/private:v1", authFile, false);
            Cache cache = new Cache(dir.resolve("cache"));

            FunctionSource anonymous = catalog().imageFunction("private", new FunctionImage(ref, false));
            VmmException e = assertThrows(VmmException.class, () -> new ImageRootfsBuilder(cache, StepLog.silent()).build(anonymous));
            assertTrue(e.getMessage().startsWith("function private: image " + ref + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("unauthorized") || e.getMessage().contains("authentication required"),
                    e.getMessage());
            assertFalse(e.getMessage().contains(password));
            assertEquals(1, e.getMessage().lines().count());

            FunctionSource authed = catalog().imageFunction("private", new FunctionImage(ref, false, authFile));
            ImageRootfsBuilder.Built built = new ImageRootfsBuilder(cache, StepLog.silent()).build(authed);
            assertTrue(Files.isRegularFile(built.image()));
            assertTrue(debugfs(built.image(), "cat /sabre/process").contains("'/bin/server'"));
        }
    }
}
