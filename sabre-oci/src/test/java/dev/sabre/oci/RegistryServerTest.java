package dev.sabre.oci;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.sabre.oci.TestImages.Compression.GZIP;
import static dev.sabre.oci.TestImages.file;
import static dev.sabre.oci.TestImages.layer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The private registry for real: Debian's docker-registry started on a free loopback port, an image pushed to it
 * with skopeo and pulled back (each blob served once, counted in its access log), stopped (process gone, port
 * free), and started again over the same storage, where the image still is; a temporary storage goes with it.
 */
@Timeout(value = 3, unit = java.util.concurrent.TimeUnit.MINUTES)
class RegistryServerTest {
    @TempDir
    Path dir;

    @Test
    void pushPullStopAndRestartOverTheSameStorage() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        layout.tag("v1", layout.image(List.of("/bin/hello"), "amd64", layer(GZIP, file("bin/hello", "hello"))));
        Path storage = dir.resolve("storage");
        String ref;
        int port;
        long pid;
        try (RegistryServer registry = RegistryServer.start(storage, null)) {
            assertTrue(registry.host().startsWith("127.0.0.1:"), registry.host());
            port = Integer.parseInt(registry.host().substring("127.0.0.1:".length()));
            pid = registry.pid();
            ref = TestImages.push(registry, "oci:" + layout.dir + ":v1", "sabre/hello:v1", null, false);
            assertEquals(registry.reference("sabre/hello:v1"), ref);
            assertEquals(List.of(), registry.blobGets(), "a push fetches no blob");

            ImagePuller.Pulled pulled = new ImagePuller(new BlobStore(dir.resolve("cache")), ImagePuller.Options.defaults())
                    .pull(ref, dir.resolve("pulled"));
            assertEquals("hello", Files.readString(pulled.rootfs().resolve("bin/hello")));
            assertEquals(2, registry.blobGets().size(), "the layer and the config, each served once");
            assertTrue(Files.isDirectory(storage.resolve("docker/registry/v2/repositories/sabre/hello")));
        }
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "docker-registry stopped");
        try (ServerSocket again = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertEquals(port, again.getLocalPort(), "the port is free again");
        }
        OciException down = assertThrows(OciException.class, () -> new ImagePuller(new BlobStore(dir.resolve("cache-down")),
                ImagePuller.Options.defaults()).pull(ref, dir.resolve("down")));
        assertTrue(down.getMessage().startsWith("image " + ref + ": ") && down.getMessage().contains("connection refused"),
                down.getMessage());

        // The storage outlives the server: a new one (on another port) serves the same image.
        try (RegistryServer restarted = RegistryServer.start(storage, null)) {
            String moved = restarted.reference("sabre/hello:v1");
            ImagePuller.Pulled pulled = new ImagePuller(new BlobStore(dir.resolve("cache2")), ImagePuller.Options.defaults())
                    .pull(moved, dir.resolve("pulled2"));
            assertEquals("hello", Files.readString(pulled.rootfs().resolve("bin/hello")));
            assertEquals(2, restarted.blobGets().size());
        }
    }

    @Test
    void aTemporaryStorageIsRemovedWithTheServer() throws Exception {
        Path storage;
        try (RegistryServer registry = RegistryServer.start(null, null)) {
            storage = registry.storage();
            TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
            layout.tag("v1", layout.image(List.of("/x"), "amd64", layer(GZIP, file("x", "x"))));
            TestImages.push(registry, "oci:" + layout.dir + ":v1", "sabre/x:v1", null, false);
            assertTrue(Files.isDirectory(storage.resolve("docker/registry/v2/repositories/sabre/x")));
        }
        assertFalse(Files.exists(storage), "temporary storage removed");
    }

    @Test
    void aStorageThatCannotBeADirectoryIsOneLine() throws IOException {
        Path notADirectory = Files.writeString(dir.resolve("file"), "x");
        OciException e = assertThrows(OciException.class, () -> RegistryServer.start(notADirectory.resolve("storage"), null));
        assertTrue(e.getMessage().startsWith("registry storage " + notADirectory.resolve("storage") + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
