package dev.sabre.e2e;

import dev.sabre.handler.Strategy;
import dev.sabre.oci.OciException;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.image.ImageBuilder;
import dev.sabre.vmm.qemu.QemuDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code sabre e2e --images} for real on one function: fibonacci's image built with buildah, pushed to a private
 * docker-registry, the function defined from it, pulled back, booted in QEMU (TCG here), snapshotted, its working
 * set recorded and restored with lazy and reap-compressed, each reply checked; afterwards the registry is gone
 * and building the function again fails in one line naming its image. The function gets a name of its own, so a
 * user's {@code fibonacci-image} is left alone; its definition and root file system are removed afterwards.
 */
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class ImageFunctionsTest {
    private static final String FIB_10 = "fn: Fib: y = fib(x) | x: 10 y: 55.0 | runtime: python";
    private static final VmSettings SETTINGS = VmSettings.defaults().withMemoryMiB(256).withReadyTimeout(Duration.ofSeconds(180));

    @TempDir
    Path dir;

    @Test
    void fibonacciFromItsImageThroughAPrivateRegistryIsMeasuredLikeAnyFunction() throws Exception {
        String suffix = "-image-test-" + UUID.randomUUID().toString().substring(0, 8);
        String name = "fibonacci" + suffix;
        List<String> steps = Collections.synchronizedList(new ArrayList<>());
        StepLog log = line -> {
            steps.add(line);
            System.err.println("[sabre] " + line);
        };
        ImageBuilder images = ImageBuilder.standard(log);
        Orchestrator orchestrator = new Orchestrator(new QemuDriver(images.cache(), log), images, SETTINGS, log,
                Files.createDirectories(dir.resolve("snapshots")));
        Path storage = dir.resolve("registry");
        try {
            EndToEnd.Result result;
            String registryHost;
            try (ImageFunctions fromImages = ImageFunctions.start(orchestrator, storage, suffix, log)) {
                registryHost = fromImages.registry().host();
                var options = new EndToEnd.Options(List.of("fibonacci"), List.of(Strategy.LAZY, Strategy.REAP_COMPRESSED),
                        1, 0, "10", false, false, null, fromImages);
                result = new EndToEnd(orchestrator, log).run(options);
            }
            assertEquals(List.of(), result.failures());
            assertEquals(List.of(name + " lazy", name + " reap-compressed"),
                    result.rows().stream().map(m -> m.function() + " " + m.strategy()).toList());
            assertTrue(result.rows().stream().allMatch(m -> m.reply().equals(FIB_10)), result.rows().toString());
            String reference = registryHost + "/sabre/fibonacci:latest";
            assertTrue(steps.contains(name + ": defined as " + reference + "; pulling it and building its guest images"),
                    steps.toString());
            assertEquals(reference + "\n", Files.readString(images.catalog().imageFunctions().resolve(name).resolve("image")));
            assertTrue(Files.isDirectory(storage.resolve("docker/registry/v2/repositories/sabre/fibonacci")),
                    "the pushed image stays in the registry's storage");
            assertFalse(ProcessHandle.current().descendants().anyMatch(p -> p.info().command().orElse("").endsWith("docker-registry")),
                    "the registry stopped with the run");

            // After the run its registry is gone: the function names an image nobody serves, said in one line.
            Orchestrator later = new Orchestrator(orchestrator.driver(), ImageBuilder.standard(StepLog.silent()), SETTINGS,
                    StepLog.silent(), dir.resolve("snapshots"));
            RuntimeException e = assertThrows(RuntimeException.class, () -> later.build(name));
            assertTrue(e instanceof OciException || e instanceof VmmException, e.toString());
            assertTrue(e.getMessage().contains(reference) && e.getMessage().contains("connection refused"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        } finally {
            WorkDir.deleteTree(images.catalog().imageFunctions().resolve(name));
            try (Stream<Path> built = Files.list(images.cache().dir("rootfs"))) {
                for (Path p : built.filter(p -> p.getFileName().toString().startsWith(name + "-")).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
