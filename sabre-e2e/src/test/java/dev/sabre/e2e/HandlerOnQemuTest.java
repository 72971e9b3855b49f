package dev.sabre.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.Packer;
import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.PageFaultHandler;
import dev.sabre.handler.SessionReport;
import dev.sabre.handler.Strategy;
import dev.sabre.vmm.ColdStart;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.image.ImageBuilder;
import dev.sabre.vmm.qemu.QemuDriver;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real VMM: a QEMU microvm guest running the fibonacci function, snapshotted once, then restored with
 * its guest memory served by the page-fault handler (in this JVM) through the Firecracker handshake
 * (QEMU's preload bridge), with each strategy, and invoked. It lives here, where the handler and the VMM
 * drivers meet, so that neither module depends on the other.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class HandlerOnQemuTest {
    private static final String REPLY = "fn: Fib: y = fib(x) | x: 12 y: 144.0 | runtime: python";

    private static QemuDriver driver;
    private static VmSpec spec;
    private static Path dir;
    private static Snapshot snapshot;
    private static Path packed;

    @BeforeAll
    static void bootAndSnapshot() throws Exception {
        ImageBuilder builder = ImageBuilder.standard(StepLog.stderr());
        driver = new QemuDriver(builder.cache(), StepLog.stderr());
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
        WorkDir.deleteTree(dir);
    }

    private static SessionReport restoreAndInvoke(HandlerConfig config) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        BlockingQueue<SessionReport> ended = new LinkedBlockingQueue<>();
        try (PageFaultHandler handler = PageFaultHandler.start(config.withLog(new PrintStream(log, true, StandardCharsets.UTF_8)))) {
            handler.onSessionEnd(ended::add);
            ColdStart cold = ColdStart.measure(driver, spec, snapshot, MemoryBackend.uffd(config.socket()), "12");
            assertEquals(REPLY, cold.reply(), log.toString(StandardCharsets.UTF_8));
            SessionReport report = ended.poll(120, TimeUnit.SECONDS);
            assertNotNull(report, "no session ended within 120 s; log:\n" + log.toString(StandardCharsets.UTF_8));
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
