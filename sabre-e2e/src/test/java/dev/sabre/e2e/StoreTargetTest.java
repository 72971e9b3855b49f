package dev.sabre.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PageRun;
import dev.sabre.handler.SimulatedVmm;
import dev.sabre.handler.Strategy;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.StepLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A function snapshot (real guest memory, a working set) pushed to a directory store by {@link StoreTarget},
 * restored from it by real handler processes to the VMM-side test driver with every byte checked, through a
 * host cache that {@link StoreTarget#emptyHostCache} empties after the warm-up; and pulled back byte for byte.
 */
class StoreTargetTest {
    @TempDir
    Path dir;

    @Test
    void pushedSnapshotsRestoreFromTheStoreThroughAColdHostCache() throws Exception {
        Path memory = Datasets.memoryFile("python-json-512m");
        List<PageRun> ws = List.of(new PageRun(0, 300), new PageRun(5000, 400), new PageRun(70000, 200));
        Path snapshotDir = Files.createDirectories(dir.resolve("python-json-512M"));
        Path state = Files.writeString(snapshotDir.resolve("state"), "device state");
        FunctionSnapshot fs = new FunctionSnapshot(snapshotDir,
                new Snapshot("python-json", "qemu", Files.size(memory), "test", state, memory), "", "", true);
        Orchestrator.pack(memory, fs.rawWorkingSet(), PackOptions.workingSet(ws, CodecId.NONE, 0));
        Orchestrator.pack(memory, fs.compressedWorkingSet(), PackOptions.workingSet(ws, CodecId.ZSTD, 0));

        try (StoreTarget store = StoreTarget.open(dir.resolve("store").toString(), null, 0, StepLog.silent())) {
            store.push(fs, Strategy.REAP_COMPRESSED, null);
            store.push(fs, Strategy.REAP, null);
            long[] pages = HandlerWarmUp.workingSetPages(fs);
            assertEquals(900, pages.length);
            for (Strategy s : List.of(Strategy.LAZY, Strategy.REAP, Strategy.REAP_COMPRESSED)) {
                Path cacheRoot = StoreTarget.freshCacheRoot();
                try (HandlerProcess handler = HandlerProcess.start(store.reference(fs, s), s, null, false, false, 0,
                        store.access(cacheRoot, null))) {
                    HandlerWarmUp.run(handler, fs);
                    assertTrue(entries(cacheRoot) > 0, s + ": the warm-up filled the host cache");
                    StoreTarget.emptyHostCache(cacheRoot);
                    assertEquals(0, entries(cacheRoot), s + ": emptied");
                    try (SimulatedVmm vmm = SimulatedVmm.start(handler.socket(), memory, 1)) {
                        assertTrue(vmm.touch(pages, 1).ok(), s + ": every working-set byte as in the memory file");
                    }
                    // The handler writes fetched frames to the cache after handing them over, at the lowest CPU priority.
                    long deadline = System.nanoTime() + 30_000_000_000L;
                    while (entries(cacheRoot) == 0 && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    assertTrue(entries(cacheRoot) > 0, s + ": the restore fetched into the host cache again");
                } finally {
                    dev.sabre.vmm.WorkDir.deleteTree(cacheRoot);
                }
            }
            Path pulled = dir.resolve("pulled.mem");
            store.pull(fs, pulled, null);
            assertEquals(-1, Files.mismatch(memory, pulled), "pulled byte for byte");
        }
    }

    private static long entries(Path cacheRoot) throws Exception {
        Path cache = cacheRoot.resolve("store");
        if (!Files.isDirectory(cache)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(cache)) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getParent().getFileName().toString().equals("locks")).count();
        }
    }
    /**
     * A handler still writing its last session's frames while the host cache is emptied (what failed a demo under
     * load: a directory deleted while an entry was created in it): the emptying waits it out, and leaves no entry.
     */
    @Test
    void emptyingTheHostCacheWaitsOutAWriterStillWriting() throws Exception {
        Path root = dir.resolve("busy-cache");
        Path store = root.resolve("store");
        Files.createDirectories(store.resolve("locks"));
        Files.writeString(store.resolve("locks").resolve("f9a"), "");
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 40; i++) { // frames arriving one by one, each in its two-level directory
                    Path d = Files.createDirectories(store.resolve(String.format("%02x", i % 4)));
                    Files.write(d.resolve(String.format("%064x", i)), new byte[4096]);
                    Thread.sleep(5);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        StoreTarget.emptyHostCache(root);
        writer.join();
        StoreTarget.emptyHostCache(root); // whatever the writer added after the first emptying had seen it quiet
        try (Stream<Path> left = Files.walk(store)) {
            assertEquals(List.of(store.resolve("locks").resolve("f9a")), left.filter(Files::isRegularFile).toList());
        }
    }
}
