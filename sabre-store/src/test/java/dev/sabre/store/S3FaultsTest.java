package dev.sabre.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.restore.MemoryInstaller;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreOptions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real S3 server behind a real fault-injecting HTTP forwarder ({@link FaultInjectingProxy}): answers of
 * 503 SlowDown are retried by the SDK with backoff until the pull or restore succeeds, a store that keeps
 * answering SlowDown fails within the attempt bound with one line naming the object, and a slow store
 * still restores every byte. The proxy counts what the store's client really sent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3FaultsTest {
    private static final String BUCKET = "sabre-faults";
    private static final int PAGES = 4096;

    @TempDir
    static Path temp;
    private S3ProxyServer server;
    private FaultInjectingProxy proxy;
    private Path memory;
    private int caches;

    @BeforeAll
    void pushThroughTheServer() throws Exception {
        server = S3ProxyServer.startInTempDir(BUCKET);
        proxy = FaultInjectingProxy.start(server.endpoint());
        memory = TestMemory.slice(temp.resolve("slice.mem"), PAGES);
        try (SnapshotStore store = SnapshotStore.open("s3://" + BUCKET + "/faults", server.endpoint());
             PageInput in = PageInput.open(memory, false)) {
            Pusher.push(store, in, List.of(new PageRun(0, 300)), "s", Pusher.Options.defaults(), Progress.NONE);
        }
    }

    @AfterAll
    void stop() throws Exception {
        proxy.close();
        server.close();
    }

    @AfterEach
    void healTheProxy() {
        proxy.rule((request, attempt) -> false);
        proxy.delay(0);
        proxy.cut((request, attempt) -> false, 0);
        proxy.resetCounts();
    }

    /** The store as a client reaches it: through the proxy. */
    private SnapshotStore throughProxy() throws Exception {
        return SnapshotStore.open("s3://" + BUCKET + "/faults", proxy.endpoint());
    }

    private HostCache freshCache() throws Exception {
        return HostCache.open(temp.resolve("cache-" + ++caches), 1L << 30);
    }

    private static boolean isPackRead(FaultInjectingProxy.Request r) {
        return r.method().equals("GET") && r.path().contains("/packs/");
    }

    /** Every byte of the memory restored from the store with the restore engine (eager, as sabre and eager do). */
    private void restoreEveryPageAndCheck(SnapshotStore store) throws Exception {
        try (Arena arena = Arena.ofShared(); StorePages pages = StorePages.open(store, "s", freshCache())) {
            MemorySegment original = TestMemory.map(memory, arena);
            MemorySegment guest = arena.allocate(original.byteSize(), 4096);
            try (RestoreEngine engine = RestoreEngine.start(pages.restoreFrames(false, 8), new MemoryInstaller(guest),
                    RestoreOptions.defaults(), Progress.NONE)) {
                engine.await();
            }
            assertEquals(-1, guest.mismatch(original), "restored memory differs from the pushed memory");
        }
    }

    @Test
    void aTransferCutOffPartWayIsResumedFromTheFrameWhereItBroke() throws Exception {
        Manifest m;
        try (SnapshotStore direct = SnapshotStore.open("s3://" + BUCKET + "/faults", server.endpoint())) {
            m = direct.manifest("s");
        }
        StoredFrame first = m.frames().get(m.wsFirstFrame()).stored();
        StoredFrame second = m.frames().get(m.wsFirstFrame() + 1).stored();
        assertTrue(m.wsFrameCount() >= 2 && second.storedLength() > 4096, "the working set needs two frames, the second over 4 KiB");
        // The headers (well under 2 KiB) and the first frame get through, then the connection drops inside the second.
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        proxy.cut((request, attempt) -> isPackRead(request) && once.compareAndSet(false, true), 2048 + first.storedLength());
        try (SnapshotStore store = throughProxy(); Arena arena = Arena.ofShared();
             StorePages pages = StorePages.open(store, "s", freshCache())) {
            MemorySegment original = TestMemory.map(memory, arena);
            MemorySegment guest = arena.allocate(original.byteSize(), 4096);
            StorePages.PrefetchResult r = pages.prefetchWorkingSet(new MemoryInstaller(guest), 4);
            long end = 300 * TestMemory.PAGE;
            assertEquals(-1, guest.asSlice(0, end).mismatch(original.asSlice(0, end)), "working set restored through a cut transfer differs");
            assertEquals(2, r.requests(), "the cut request and one resumed request");
        }
        List<String> packReads = proxy.attempts().keySet().stream().filter(k -> k.startsWith("GET ") && k.contains("/packs/")).toList();
        assertEquals(2, packReads.size(), proxy.attempts().toString());
        assertTrue(packReads.stream().anyMatch(k -> k.endsWith("bytes=" + second.offset() + "-" + (m.frames()
                        .get(m.wsFirstFrame() + m.wsFrameCount() - 1).stored().end() - 1))),
                "not resumed from the second frame: " + packReads);
    }

    @Test
    void slowDownAnswersAreRetriedWithBackoffAndPullAndRestoreSucceed() throws Exception {
        // The first two attempts at every range of a pack are throttled; the third gets through.
        proxy.rule((request, attempt) -> isPackRead(request) && attempt <= 2);
        try (SnapshotStore store = throughProxy()) {
            Path out = temp.resolve("pulled.mem");
            long start = System.nanoTime();
            Puller.Result pulled = Puller.pull(store, "s", out, 8, Progress.NONE);
            long pullNanos = System.nanoTime() - start;
            assertEquals(-1, TestMemory.mismatch(memory, out), "pulled memory differs");
            Map<String, Integer> attempts = proxy.attempts();
            long packRanges = attempts.keySet().stream().filter(k -> k.startsWith("GET ") && k.contains("/packs/")).count();
            assertEquals(pulled.requests(), packRanges, attempts.toString());
            attempts.forEach((target, n) -> {
                if (target.contains("/packs/")) {
                    assertEquals(3, n, target + " was requested " + n + " times");
                }
            });
            assertEquals(2 * packRanges, proxy.slowDowns());
            System.out.printf("[S3FaultsTest] pull through 503 SlowDown: %d ranged requests, %d requests seen by the proxy,"
                            + " %d answered SlowDown, every range on its third attempt; %.2f s%n",
                    pulled.requests(), proxy.requests(), proxy.slowDowns(), pullNanos / 1e9);

            proxy.resetCounts();
            start = System.nanoTime();
            restoreEveryPageAndCheck(store);
            System.out.printf("[S3FaultsTest] eager restore through 503 SlowDown: %d requests seen, %d answered SlowDown; %.2f s%n",
                    proxy.requests(), proxy.slowDowns(), (System.nanoTime() - start) / 1e9);
            assertTrue(proxy.slowDowns() > 0 && proxy.slowDowns() * 3 >= proxy.requests() * 2 - 6, proxy.attempts().toString());
        }
    }

    @Test
    void aStoreThatKeepsAnsweringSlowDownFailsWithinTheBoundNamingTheObject() throws Exception {
        proxy.rule((request, attempt) -> isPackRead(request));
        try (SnapshotStore store = throughProxy(); Arena arena = Arena.ofConfined();
             StorePages pages = StorePages.open(store, "s", freshCache())) {
            MemoryInstaller installer = new MemoryInstaller(arena.allocate(pages.memorySize(), 4096));
            long start = System.nanoTime();
            StoreException e = assertThrows(StoreException.class, () -> pages.serve(1, installer));
            long nanos = System.nanoTime() - start;
            StoreTestCase.assertOneLineNaming(e, "s3://" + BUCKET + "/faults/packs/");
            assertTrue(e.getMessage().contains("503") && e.getMessage().contains("SlowDown"), e.getMessage());
            Map<String, Integer> attempts = new java.util.TreeMap<>(proxy.attempts());
            attempts.keySet().removeIf(target -> !target.contains("/packs/"));
            assertEquals(1, attempts.size(), proxy.attempts().toString());
            assertEquals(S3ObjectStore.MAX_ATTEMPTS, attempts.values().iterator().next(), attempts.toString());
            System.out.printf("[S3FaultsTest] a store answering only SlowDown: %d attempts at %s, failed after %.2f s: %s%n",
                    S3ObjectStore.MAX_ATTEMPTS, attempts.keySet().iterator().next(), nanos / 1e9, e.getMessage());
        }
    }

    @Test
    void aSlowStoreStillRestoresEveryByte() throws Exception {
        proxy.delay(100);
        try (SnapshotStore store = throughProxy()) {
            long start = System.nanoTime();
            restoreEveryPageAndCheck(store);
            System.out.printf("[S3FaultsTest] eager restore with every request delayed 100 ms: %d requests, %.2f s%n",
                    proxy.requests(), (System.nanoTime() - start) / 1e9);
        }
    }
}
