package dev.sabre.cli;

import static dev.sabre.cli.CommandLineTest.sabre;
import static dev.sabre.oci.TestImages.Compression.GZIP;
import static dev.sabre.oci.TestImages.dir;
import static dev.sabre.oci.TestImages.file;
import static dev.sabre.oci.TestImages.layer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.oci.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sabre image pull} as a user runs it, on an OCI layout (the registry path is sabre-oci's test). */
class ImagePullCommandTest {
    @TempDir
    Path dir;

    @Test
    void pullsALayoutIntoRootfsAndConfigAndUsesTheCacheTheSecondTime() throws Exception {
        TestImages.Layout layout = new TestImages.Layout(dir.resolve("layout"));
        layout.tag("v1", layout.image(List.of("/usr/bin/python3", "server.py"), "amd64",
                layer(GZIP, dir("srv"), file("srv/server.py", "print('hi')\n"))));
        String cache = dir.resolve("cache").toString();

        CommandLineTest.Run first = sabre("image", "pull", "--cache", cache, "oci:" + layout.dir + ":v1", dir.resolve("fn").toString());
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("blobs: 2 fetched"), first.out());
        assertTrue(first.out().contains("process: /usr/bin/python3 server.py (in /srv) as 1000:1000"), first.out());
        assertEquals("print('hi')\n", Files.readString(dir.resolve("fn/rootfs/srv/server.py")));
        assertTrue(Files.readString(dir.resolve("fn/config.json")).contains("\"Cmd\":[\"/usr/bin/python3\",\"server.py\"]"));

        CommandLineTest.Run again = sabre("image", "pull", "--cache", cache, "oci:" + layout.dir + ":v1", dir.resolve("fn2").toString());
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.out().contains("blobs: 0 fetched"), again.out());

        CommandLineTest.Run taken = sabre("image", "pull", "--cache", cache, "oci:" + layout.dir + ":v1", dir.resolve("fn").toString());
        assertEquals(1, taken.exit());
        assertEquals("sabre pull: image oci:" + layout.dir + ":v1: destination " + dir.resolve("fn") + " is not empty\n",
                taken.err());
    }

    @Test
    void aBadReferenceIsOneLine() {
        CommandLineTest.Run run = sabre("image", "pull", "--cache", dir.resolve("cache").toString(), "python_list",
                dir.resolve("x").toString());
        assertEquals(1, run.exit());
        assertEquals("sabre pull: image python_list: name the registry, as in host:port/repository:tag\n", run.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }
}
