package dev.sabre.e2e.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.e2e.HandlerProcess;
import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.handler.Strategy;
import dev.sabre.store.Manifest;
import dev.sabre.store.PageInput;
import dev.sabre.store.Pusher;
import dev.sabre.store.SnapshotStore;
import dev.sabre.store.StoreLayout;
import dev.sabre.store.StoredFrame;
import dev.sabre.vmm.VmmException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VMM-side test driver in its own process, against a real handler process serving a real store in which one
 * frame is corrupt: a restore that touches good pages succeeds with every byte checked; one that touches the
 * corrupt frame makes the handler kill the VMM that connected, which is the driver's process (not this JVM), and
 * that restore fails in one line while the handler serves on.
 */
class VmmDriverProcessTest {
    private static final int PAGE = 4096;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void aHandlerThatKillsItsVmmKillsOnlyTheDriversProcessAndThatRestoreFailsInOneLine() throws Exception {
        byte[] bytes = new byte[256 * PAGE];
        new Random(7).nextBytes(bytes); // incompressible: every frame stored raw
        Path memory = Files.write(dir.resolve("guest.mem"), bytes);
        Path storeDir = dir.resolve("store");
        Manifest m;
        try (SnapshotStore store = SnapshotStore.open(storeDir.toString(), null); PageInput in = PageInput.open(memory, false)) {
            Pusher.push(store, in, List.<PageRun>of(), "guest", Pusher.Options.defaults(), Progress.NONE);
            m = store.manifest("guest");
        }
        StoredFrame bad = m.frames().get(1).stored();
        try (RandomAccessFile pack = new RandomAccessFile(storeDir.resolve(StoreLayout.pack(m.packs().get(m.frames().get(1).pack())
                .pack())).toFile(), "rw")) {
            pack.seek(bad.offset() + 100);
            int b = pack.read();
            pack.seek(bad.offset() + 100);
            pack.write(b ^ 0x10);
        }
        long badPage = m.pagesByFrame().get(1).getFirst().firstPage();
        long[] goodPages = LongStream.range(0, m.frames().getFirst().stored().pageCount()).toArray();
        Path cacheRoot = Files.createDirectories(dir.resolve("cache"));
        try (HandlerProcess handler = HandlerProcess.start(storeDir + "/guest", Strategy.LAZY, null, false, false, 0,
                new HandlerProcess.StoreAccess(null, Map.of(), cacheRoot, null));
             VmmDriverProcess vmm = VmmDriverProcess.start(memory)) {
            VmmDriverProcess.Restore ok = vmm.restore(handler.socket(), goodPages, TIMEOUT);
            assertEquals(goodPages.length, ok.pagesTouched());
            assertTrue(handler.nextSession(TIMEOUT).outcome().contains("VMM exited"));

            VmmException e = assertThrows(VmmException.class, () -> vmm.restore(handler.socket(), new long[] {badPage}, TIMEOUT));
            assertTrue(e.getMessage().contains("pid " + vmm.pid()) && e.getMessage().contains("was killed (SIGKILL)"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            HandlerProcess.SessionStats killed = handler.nextSession(TIMEOUT);
            assertTrue(killed.outcome().contains("cannot be served"), killed.outcome());
            assertTrue(handler.isAlive(), "the handler serves on after killing one VMM");
        }
    }
}
