package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.Packer;
import dev.sabre.vmm.ColdStart;
import dev.sabre.vmm.Progress;
import dev.sabre.vmm.RestoreMode;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.ImageBuilder;
import dev.sabre.vmm.qemu.QemuDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real VMM: a QEMU microvm guest running the fibonacci function, snapshotted once, then restored with
 * its guest memory served by this handler through the Firecracker handshake (QEMU's preload bridge),
 * with each strategy, and invoked.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class QemuEndToEndTest {
    private static final String REPLY = "fn: Fib: y = fib(x) | x: 12 y: 144.0 | runtime: python";

    private static QemuDriver driver;
    private static VmSpec spec;
    private static Path dir;
    private static Snapshot snapshot;
    private static Path packed;

    @BeforeAll
    static void bootAndSnapshot() throws Exception {
        ImageBuilder builder = ImageBuilder.standard(Progress.stderr());
        driver = new QemuDriver(builder.cache(), Progress.stderr());
        spec = VmSpec.of(builder.build("fibonacci")).withMemoryMiB(256);
        dir = Files.createTempDirectory("sabre-handler-qemu-");
        try (Vm vm = driver.boot(spec)) {
            driver.invoke(vm, "10");
            snapshot = driver.snapshot(vm, dir.resolve("snapshot"));
        }
        packed = dir.resolve("fibonacci.sabre");
        try (MemoryImage image = MemoryImage.open(snapshot.memoryFile(), 4096, null)) {
            Packer.pack(image, packed, PackOptions.defaults(), null);
        }
    }

    @AfterAll
    static void cleanUp() {
        if (dir != null) {
            Cache.deleteTree(dir);
        }
    }

    private static SessionReport restoreAndInvoke(HandlerConfig config) throws Exception {
        try (RunningHandler running = RunningHandler.start(config)) {
            ColdStart cold = ColdStart.measure(driver, spec, snapshot, RestoreMode.uffd(running.socket), "12");
            assertEquals(REPLY, cold.reply(), running.log());
            SessionReport report = running.nextReport();
            System.out.println("fibonacci, " + config.strategy() + ": " + cold + "\n  " + report.toLine());
            assertTrue(report.outcome().startsWith("VMM exited"), report.toLine());
            return report;
        }
    }

    @Test
    void everyStrategyServesARealGuest() throws Exception {
        Path socket = dir.resolve("uffd.sock");
        Path memory = snapshot.memoryFile();
        assertTrue(restoreAndInvoke(HandlerConfig.of(socket, memory, Strategy.LAZY)).faults() > 100);
        restoreAndInvoke(HandlerConfig.of(socket, memory, Strategy.EAGER));
        restoreAndInvoke(HandlerConfig.of(socket, packed, Strategy.SABRE));
        Path ws = dir.resolve("ws.sabre");
        Path wsCompressed = dir.resolve("ws-zstd.sabre");
        assertEquals(ws, restoreAndInvoke(HandlerConfig.of(socket, memory, Strategy.REAP_RECORD).withWorkingSet(ws)).workingSet());
        restoreAndInvoke(HandlerConfig.of(socket, packed, Strategy.REAP_RECORD).withWorkingSet(wsCompressed)
                .withWorkingSetCodec(CodecId.ZSTD, 1));
        for (Strategy strategy : List.of(Strategy.REAP, Strategy.REAP_COMPRESSED)) {
            Path set = strategy == Strategy.REAP ? ws : wsCompressed;
            SessionReport replay = restoreAndInvoke(HandlerConfig.of(socket, packed, strategy).withWorkingSet(set));
            assertTrue(replay.restore() != null, replay.toLine());
        }
    }
}
