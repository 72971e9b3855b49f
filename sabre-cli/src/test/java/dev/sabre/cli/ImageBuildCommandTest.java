package dev.sabre.cli;

import static dev.sabre.cli.CommandLineTest.sabre;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.oci.RegistryServer;
import dev.sabre.vmm.image.FunctionCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A function built from its Dockerfile with buildah FROM the project's Debian base image, pushed to a real
 * registry (Debian's docker-registry, started here) and pulled back: the code, the RUN step's output and the
 * process are in the image.
 */
class ImageBuildCommandTest {
    @TempDir
    Path dir;

    @Test
    void fibonacciIsBuiltFromItsDockerfilePushedAndPulledBack() throws Exception {
        Path functions = FunctionCatalog.locate().root();
        try (RegistryServer registry = RegistryServer.start(dir.resolve("registry"), null)) {
            String ref = registry.host() + "/sabre/fibonacci:v1";
            CommandLineTest.Run build = sabre("image", "build", "fibonacci", "--push", ref);
            assertEquals(0, build.exit(), build.err());
            assertTrue(build.out().contains("built localhost/sabre-function/fibonacci:latest"), build.out());

            CommandLineTest.Run pull = sabre("image", "pull", "--cache", dir.resolve("cache").toString(), ref,
                    dir.resolve("fn").toString());
            assertEquals(0, pull.exit(), pull.err());
            assertTrue(pull.out().contains("process: /usr/bin/python3 -u server.py (in /sabre/function)"), pull.out());
            Path rootfs = dir.resolve("fn/rootfs");
            assertEquals(Files.readString(functions.resolve("fibonacci/server.py")),
                    Files.readString(rootfs.resolve("sabre/function/server.py")));
            assertEquals(Files.readString(functions.resolve("_common/sabre_greeter.py")),
                    Files.readString(rootfs.resolve("sabre/function/sabre_greeter.py")));
            try (var compiled = Files.list(rootfs.resolve("sabre/function/__pycache__"))) {
                assertTrue(compiled.anyMatch(p -> p.getFileName().toString().startsWith("server.")),
                        "the Dockerfile's RUN step ran");
            }
            assertTrue(Files.isExecutable(rootfs.resolve("usr/bin/python3")), "the Debian base is underneath");
            assertTrue(Files.isDirectory(rootfs.resolve("usr/lib/python3/dist-packages/grpc")));
        }
    }
}
