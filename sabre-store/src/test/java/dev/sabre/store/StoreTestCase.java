package dev.sabre.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.restore.MemoryInstaller;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's behaviour, run against each backend (a local directory, a real S3 server): push and pull
 * byte for byte on real guest memory, dedup between snapshots, the page source and its prefetch, damaged
 * and missing objects, a failed push, and gc racing a push.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class StoreTestCase {
    @TempDir
    Path temp;

    /** A fresh, empty store on this backend, at {@code prefix} (a subfolder or key prefix). */
    abstract SnapshotStore newStore(String prefix) throws Exception;

    /** The file that holds object {@code key} of a store made by {@link #newStore} with {@code prefix}. */
    abstract Path objectFile(String prefix, String key);

    @AfterAll
    void stopBackend() throws Exception {
    }

    private static final List<PageRun> WORKING_SET = List.of(new PageRun(0, 512), new PageRun(4096, 700), new PageRun(60000, 300));

    @Test
    void realMemoryPushesAndPullsByteForByteAndServesEveryPage() throws Exception {
        Path memory = TestMemory.dataset();
        try (SnapshotStore store = newStore("real")) {
            long copyStart = System.nanoTime();
            Files.copy(memory, temp.resolve("plain-copy.mem"));
            long copyNanos = System.nanoTime() - copyStart;
            Pusher.Result pushed;
            try (PageInput in = PageInput.open(memory, false)) {
                pushed = Pusher.push(store, in, WORKING_SET, "python-json", Pusher.Options.defaults(), Progress.NONE);
            }
            Path out = temp.resolve("pulled.mem");
            Puller.Result pulled = Puller.pull(store, "python-json", out, 8, Progress.NONE);
            assertEquals(-1, TestMemory.mismatch(memory, out), "pulled memory differs from the pushed memory");
            assertEquals(List.of("python-json"), store.names());
            StoreMaintenance.Usage usage = StoreMaintenance.usage(store);
            System.out.printf("[%s] python-json-512m: %d pages present, %d zero, %d stored; store %d bytes (%.1fx smaller than the memory);"
                            + " push %.0f MB/s, pull %.0f MB/s, plain copy %.0f MB/s (same run)%n",
                    getClass().getSimpleName(), pushed.presentPages(), pushed.zeroPages(), pushed.newPages() + pushed.workingSetPages(),
                    usage.storedBytes(), (double) Files.size(memory) / usage.storedBytes(),
                    Files.size(memory) / 1e6 / (pushed.nanos() / 1e9), Files.size(memory) / 1e6 / (pulled.nanos() / 1e9),
                    Files.size(memory) / 1e6 / (copyNanos / 1e9));
            Files.delete(temp.resolve("plain-copy.mem"));

            Path cacheDir = temp.resolve("cache");
            try (Arena arena = Arena.ofShared()) {
                MemorySegment original = TestMemory.map(memory, arena);
                MemorySegment guest = arena.allocate(original.byteSize(), 4096);
                HostCache cache = HostCache.open(cacheDir, 1L << 30);
                try (StorePages pages = StorePages.open(store, "python-json", cache)) {
                    MemoryInstaller installer = new MemoryInstaller(guest);
                    StorePages.PrefetchResult prefetch = pages.prefetchWorkingSet(installer, 4);
                    for (PageRun run : WORKING_SET) {
                        long from = run.firstPage() * TestMemory.PAGE;
                        long to = run.endPage() * TestMemory.PAGE;
                        assertEquals(-1, guest.asSlice(from, to - from).mismatch(original.asSlice(from, to - from)),
                                "prefetched working set differs in run " + run);
                    }
                    assertTrue(prefetch.requests() <= 2, "working set fetched in " + prefetch.requests() + " requests");
                    // The working set's pack at zstd 19, the others at 9 (STORE.md, "Why the working set at zstd 19").
                    Manifest manifest = pages.manifest();
                    int wsPack = manifest.frames().get(manifest.wsFirstFrame()).pack();
                    for (int i = 0; i < manifest.packs().size(); i++) {
                        String key = StoreLayout.index(manifest.packs().get(i).index());
                        PackIndex index = PackIndex.decode(store.objects().describe(key),
                                store.verified(key, manifest.packs().get(i).index()));
                        assertEquals(i == wsPack ? 19 : 9, index.level(), "zstd level of pack " + i);
                    }
                    for (long p = 0; p < pages.manifest().pageCount(); p++) {
                        pages.serve(p, installer);
                    }
                    assertEquals(-1, guest.mismatch(original), "memory served page by page differs from the pushed memory");
                }
                long fetched = cache.fetchedBytes();
                try (StorePages again = StorePages.open(store, "python-json", cache)) {
                    MemoryInstaller installer = new MemoryInstaller(guest);
                    again.prefetchWorkingSet(installer, 4);
                    for (long p = 0; p < again.manifest().pageCount(); p++) {
                        again.serve(p, installer);
                    }
                    assertEquals(0, again.bytesRead(), "a second restore on this host fetched bytes the cache holds");
                }
                assertEquals(fetched, cache.fetchedBytes());
            }
            StoreMaintenance.VerifyResult verified = StoreMaintenance.verify(store, null, Progress.NONE);
            assertTrue(verified.ok(), verified.problems().toString());
        }
    }

    @Test
    void aModifiedCopyStoresOnlyWhatChanged() throws Exception {
        Path memory = TestMemory.dataset();
        Path modified = TestMemory.modifiedCopy(memory, temp.resolve("modified.mem"), 2000, 42);
        try (SnapshotStore store = newStore("dedup")) {
            Pusher.Result a, b;
            // Both pushes from one host: the first caches the pack indexes it writes, so the second fetches none.
            Pusher.Options cached = Pusher.Options.defaults().withIndexCache(HostCache.open(temp.resolve("index-cache"), 1L << 30));
            try (PageInput in = PageInput.open(memory, false)) {
                a = Pusher.push(store, in, List.of(), "first", cached, Progress.NONE);
            }
            long afterFirst = StoreMaintenance.usage(store).storedBytes();
            try (PageInput in = PageInput.open(modified, false)) {
                b = Pusher.push(store, in, List.of(), "second", cached, Progress.NONE);
            }
            assertEquals(0, b.indexBytesFetched(), "the second push on this host fetched pack indexes it had cached");
            StoreMaintenance.Usage usage = StoreMaintenance.usage(store);
            System.out.printf("[%s] two snapshots (dataset + 2000 pages changed): first stored %d bytes, both %d bytes, alone %d, shared %d;"
                            + " second: %d pages found in the store, %d new%n",
                    getClass().getSimpleName(), afterFirst, usage.storedBytes(), usage.aloneBytes(), usage.sharedBytes(),
                    b.pagesFoundInStore(), b.newPages());
            assertTrue(b.newPages() <= 2000, "the second push stored " + b.newPages() + " new pages for 2000 changed ones");
            assertTrue(b.pagesFoundInStore() > a.newPages() - 2000 - 100, "the second push reused only " + b.pagesFoundInStore() + " pages");
            assertTrue(usage.storedBytes() < afterFirst * 1.5, "two near-identical snapshots take " + usage.storedBytes() + " bytes");
            assertTrue(usage.sharedBytes() > 0 && usage.aloneBytes() > usage.storedBytes());
            Path out = temp.resolve("second.mem");
            Puller.pull(store, "second", out, 4, Progress.NONE);
            assertEquals(-1, TestMemory.mismatch(modified, out));

            long indexBytes = 0;
            for (ObjectStore.Info info : store.objects().list(StoreLayout.INDEXES)) {
                indexBytes += info.size();
            }
            Pusher.Result uncached;
            try (PageInput in = PageInput.open(modified, false)) {
                uncached = Pusher.push(store, in, List.of(), "third", Pusher.Options.defaults(), Progress.NONE);
            }
            assertEquals(indexBytes, uncached.indexBytesFetched(), "a push without the cache fetches every pack index");
            System.out.printf("[%s] pack indexes fetched by a later push: %d bytes without the host cache, %d with it%n",
                    getClass().getSimpleName(), uncached.indexBytesFetched(), b.indexBytesFetched());
        }
    }

    /** A small snapshot of real pages, pushed; returns its manifest. */
    private Manifest pushSlice(SnapshotStore store, String name, Path memory) throws IOException {
        try (PageInput in = PageInput.open(memory, false)) {
            Pusher.push(store, in, List.of(new PageRun(0, 100)), name, Pusher.Options.defaults().withPackBytes(256 << 10), Progress.NONE);
        }
        return store.manifest(name);
    }

    /**
     * Pages that are blocks of the VM's disk image stay there: the store holds the rest, the working set included;
     * pull, lazy serving and an eager restore give every byte back from store and image together.
     */
    @Test
    void pagesThatAreBlocksOfTheDiskImageStayThereAndComeBackByteForByte() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("disk-slice.mem"), 8192);
        Path disk = TestDisk.image(memory, temp.resolve("rootfs.img"), 1000, 4000, 7);
        List<PageRun> ws = List.of(new PageRun(0, 200), new PageRun(1500, 100)); // 1500.. lies in the image too
        try (SnapshotStore alone = newStore("disk-none"); SnapshotStore store = newStore("disk");
             PageInput in = PageInput.open(memory, false); SnapshotDisk image = SnapshotDisk.open(disk)) {
            Pusher.push(alone, in, ws, "s", Pusher.Options.defaults(), Progress.NONE);
            Pusher.Result r = Pusher.push(store, in, ws, image, "s", Pusher.Options.defaults(), Progress.NONE);
            Manifest m = store.manifest("s");
            assertTrue(m.needsDisk());
            assertEquals(distinctContents(memory, 1000, 5000, ws), r.pagesOnDisk(), "contents left on the disk image");
            assertEquals(r.pagesOnDisk(), m.diskPages());
            for (int f = m.wsFirstFrame(); f < m.wsFirstFrame() + m.wsFrameCount(); f++) {
                assertFalse(m.frames().get(f).onDisk(), "the working set is stored");
            }
            long withDisk = StoreMaintenance.usage(store).storedBytes(), without = StoreMaintenance.usage(alone).storedBytes();
            System.out.printf("[%s] disk frames: %d of %d pages on the image; store %d bytes, %d without the image%n",
                    getClass().getSimpleName(), r.pagesOnDisk(), r.presentPages(), withDisk, without);
            assertTrue(withDisk < without * 2 / 3, withDisk + " bytes stored with the image, " + without + " without");
            StoreMaintenance.VerifyResult objectsOnly = StoreMaintenance.verify(store, null, Progress.NONE);
            assertTrue(objectsOnly.ok(), objectsOnly.problems().toString());
            assertEquals(m.diskPages(), objectsOnly.diskPagesUnchecked());
            StoreMaintenance.VerifyResult withImage = StoreMaintenance.verify(store, "s", image, Progress.NONE);
            assertTrue(withImage.ok(), withImage.problems().toString());
            assertEquals(m.diskPages(), withImage.diskPagesChecked());
            assertEquals(0, withImage.diskPagesUnchecked());

            Path out = temp.resolve("disk-pulled.mem");
            Puller.pull(store, "s", image, out, 4, Progress.NONE);
            assertEquals(-1, TestMemory.mismatch(memory, out), "pulled with the image");
            try (Arena arena = Arena.ofShared(); StorePages pages = StorePages.open(store, "s", HostCache.open(temp.resolve("dc"), 1L << 30), image)) {
                MemorySegment original = TestMemory.map(memory, arena);
                MemorySegment lazy = arena.allocate(original.byteSize(), 4096);
                for (long p = 0; p < m.pageCount(); p++) {
                    pages.serve(p, new MemoryInstaller(lazy));
                }
                assertEquals(-1, lazy.mismatch(original), "served page by page");
                MemorySegment eager = arena.allocate(original.byteSize(), 4096);
                try (dev.sabre.restore.RestoreEngine engine = dev.sabre.restore.RestoreEngine.start(pages.restoreFrames(false, 4),
                        new MemoryInstaller(eager), dev.sabre.restore.RestoreOptions.defaults(), Progress.NONE)) {
                    engine.await();
                }
                assertEquals(-1, eager.mismatch(original), "restored eagerly");
            }
        }
    }

    /** Without its image, with a shorter one or with one whose block changed, a snapshot fails in one line, installing nothing wrong. */
    @Test
    void aSnapshotWithDiskFramesNeedsItsOwnUnchangedImage() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("disk-slice2.mem"), 4096);
        Path disk = TestDisk.image(memory, temp.resolve("rootfs2.img"), 500, 2000, 11);
        try (SnapshotStore store = newStore("disk-bad")) {
            try (PageInput in = PageInput.open(memory, false); SnapshotDisk image = SnapshotDisk.open(disk)) {
                Pusher.push(store, in, List.of(new PageRun(0, 100)), image, "s", Pusher.Options.defaults(), Progress.NONE);
            }
            Manifest m = store.manifest("s");
            HostCache cache = HostCache.open(temp.resolve("dbc"), 1L << 30);
            StoreException none = assertThrows(StoreException.class, () -> StorePages.open(store, "s", cache));
            assertTrue(none.getMessage().contains("--disk") && none.getMessage().contains(m.diskPages() + " of its pages"), none.getMessage());
            StoreException nonePull = assertThrows(StoreException.class, () -> Puller.pull(store, "s", temp.resolve("x.mem"), 2, Progress.NONE));
            assertTrue(nonePull.getMessage().contains("--disk"), nonePull.getMessage());
            assertFalse(Files.exists(temp.resolve("x.mem")));

            Path shorter = temp.resolve("short.img");
            Files.copy(disk, shorter);
            try (RandomAccessFile f = new RandomAccessFile(shorter.toFile(), "rw")) {
                f.setLength(m.diskBytesNeeded() - 4096);
            }
            try (SnapshotDisk image = SnapshotDisk.open(shorter)) {
                StoreException e = assertThrows(StoreException.class, () -> StorePages.open(store, "s", cache, image));
                assertOneLineNaming(e, shorter.toString());
                StoreMaintenance.VerifyResult v = StoreMaintenance.verify(store, "s", image, Progress.NONE);
                assertEquals(1, v.problems().size(), v.problems().toString());
                assertTrue(v.problems().getFirst().contains(shorter.toString()), v.problems().toString());
            }

            int frame = java.util.stream.IntStream.range(0, m.frames().size()).filter(f -> m.frames().get(f).onDisk()).findFirst().orElseThrow();
            StoredFrame sf = m.frames().get(frame).stored();
            try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) { // the image changed since the push
                f.seek(sf.offset() + 10);
                int b = f.read();
                f.seek(sf.offset() + 10);
                f.write(b ^ 0x01);
            }
            long page = firstPageOf(m, frame);
            try (Arena arena = Arena.ofConfined(); SnapshotDisk image = SnapshotDisk.open(disk);
                 StorePages pages = StorePages.open(store, "s", cache, image)) {
                MemorySegment guest = arena.allocate(m.memorySize());
                StoreException e = assertThrows(StoreException.class, () -> pages.serve(page, new MemoryInstaller(guest)));
                assertOneLineNaming(e, disk.toString());
                assertTrue(e.getMessage().contains("not the disk image it was pushed with"), e.getMessage());
                assertEquals(-1, guest.mismatch(arena.allocate(m.memorySize())), "bytes of a changed image reached guest memory");
                StoreMaintenance.VerifyResult v = StoreMaintenance.verify(store, "s", image, Progress.NONE);
                assertEquals(1, v.problems().size(), v.problems().toString());
                assertTrue(v.problems().getFirst().contains("disk frame " + frame), v.problems().toString());
            }
        }
    }

    @Test
    void aCorruptedObjectIsNamedAndNoneOfItsBytesIsUsed() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 2048);
        try (SnapshotStore store = newStore("corrupt")) {
            Manifest m = pushSlice(store, "s", memory);
            int frame = m.wsFrameCount(); // the first frame outside the working set
            String key = store.packKey(m, frame);
            StoredFrame f = m.frames().get(frame).stored();
            try (RandomAccessFile file = new RandomAccessFile(objectFile("corrupt", key).toFile(), "rw")) {
                file.seek(f.offset() + f.storedLength() / 2);
                int b = file.read();
                file.seek(f.offset() + f.storedLength() / 2);
                file.write(b ^ 0x40);
            }
            long page = firstPageOf(m, frame);
            try (Arena arena = Arena.ofConfined(); StorePages pages = StorePages.open(store, "s", HostCache.open(temp.resolve("c1"), 1 << 30))) {
                MemorySegment guest = arena.allocate(m.memorySize());
                StoreException e = assertThrows(StoreException.class, () -> pages.serve(page, new MemoryInstaller(guest)));
                assertOneLineNaming(e, key);
                assertTrue(e.getMessage().contains("does not match its hash"), e.getMessage());
                assertEquals(-1, guest.mismatch(arena.allocate(m.memorySize())), "bytes of a corrupt frame reached guest memory");
            }
            StoreMaintenance.VerifyResult v = StoreMaintenance.verify(store, null, Progress.NONE);
            assertFalse(v.ok());
            assertTrue(v.problems().stream().anyMatch(p -> p.contains(key)), v.problems().toString());
        }
    }

    @Test
    void aCorruptedWorkingSetFrameFailsThePrefetchNamingItAndNoneOfItsBytesIsInstalled() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 2048);
        try (SnapshotStore store = newStore("corrupt-ws")) {
            Manifest m = pushSlice(store, "s", memory);
            int frame = m.wsFirstFrame() + 1; // the working set's second frame: the first arrives intact before it
            String key = store.packKey(m, frame);
            StoredFrame f = m.frames().get(frame).stored();
            try (RandomAccessFile file = new RandomAccessFile(objectFile("corrupt-ws", key).toFile(), "rw")) {
                file.seek(f.offset() + 7);
                int b = file.read();
                file.seek(f.offset() + 7);
                file.write(b ^ 0x01);
            }
            long page = firstPageOf(m, frame);
            try (Arena arena = Arena.ofConfined();
                 StorePages pages = StorePages.open(store, "s", HostCache.open(temp.resolve("c-ws"), 1 << 30))) {
                MemorySegment guest = arena.allocate(m.memorySize());
                pages.startFetching(true); // as a handler does when a VMM connects
                StoreException e = assertThrows(StoreException.class, () -> pages.prefetchWorkingSet(new MemoryInstaller(guest), 4));
                assertOneLineNaming(e, key);
                assertTrue(e.getMessage().contains("does not match its hash"), e.getMessage());
                assertTrue(guest.asSlice(page * TestMemory.PAGE, TestMemory.PAGE).mismatch(arena.allocate(TestMemory.PAGE)) == -1,
                        "a page of the corrupt frame reached guest memory");
            }
        }
    }

    @Test
    void aTruncatedOrMissingObjectIsNamed() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 2048);
        try (SnapshotStore store = newStore("truncated")) {
            Manifest m = pushSlice(store, "s", memory);
            String last = store.packKey(m, m.frames().size() - 1);
            try (RandomAccessFile file = new RandomAccessFile(objectFile("truncated", last).toFile(), "rw")) {
                file.setLength(file.length() - 100);
            }
            StoreException e = assertThrows(StoreException.class, () -> Puller.pull(store, "s", temp.resolve("out.mem"), 2, Progress.NONE));
            assertOneLineNaming(e, last);
            assertFalse(Files.exists(temp.resolve("out.mem")), "a failed pull left its output behind");
            Files.delete(objectFile("truncated", last));
            e = assertThrows(StoreException.class, () -> Puller.pull(store, "s", temp.resolve("out.mem"), 2, Progress.NONE));
            assertOneLineNaming(e, last);
            assertTrue(e instanceof MissingObjectException || e.getMessage().contains("no such object"), e.getMessage());
            e = assertThrows(MissingObjectException.class, () -> store.manifest("nothing-here"));
            assertOneLineNaming(e, "names/nothing-here");
        }
    }

    @Test
    void aFailedPushLeavesNoNameAndGcCleansUp() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 4096);
        try (SnapshotStore store = newStore("failed")) {
            try (PageInput in = PageInput.open(memory, false)) {
                PageInput failing = new FailingInput(in, 4096 + 1500); // fails after hashing every page, while writing packs
                IOException e = assertThrows(IOException.class, () -> Pusher.push(store, failing, List.of(), "broken",
                        Pusher.Options.defaults().withPackBytes(64 << 10), Progress.NONE));
                assertTrue(e.getMessage().contains("disk gone"), e.getMessage());
            }
            assertEquals(List.of(), store.names());
            assertEquals(List.of(), store.objects().list(StoreLayout.LOCKS), "a failed push left its lock");
            assertFalse(store.objects().list(StoreLayout.PACKS).isEmpty(), "the push should have written packs before failing");
            StoreMaintenance.GcResult gc = StoreMaintenance.gc(store, Duration.ZERO, Duration.ofSeconds(30), Progress.NONE);
            assertTrue(gc.deleted() > 0);
            assertEquals(List.of(), store.objects().list(StoreLayout.PACKS));
            assertEquals(List.of(), store.objects().list(StoreLayout.INDEXES));
        }
    }

    @Test
    void gcRacingPushesNeverTakesWhatASnapshotNeeds() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 2048);
        try (SnapshotStore store = newStore("race")) {
            for (int round = 0; round < 3; round++) {
                pushSlice(store, "old", memory);
                store.remove("old"); // its objects are garbage now, and exactly what the next push wants to reuse
                String name = "new" + round;
                CompletableFuture<Void> push = CompletableFuture.runAsync(() -> {
                    try {
                        pushSlice(store, name, memory);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                List<StoreMaintenance.GcResult> gcs = new ArrayList<>();
                while (!push.isDone()) {
                    gcs.add(StoreMaintenance.gc(store, Duration.ZERO, Duration.ofMinutes(1), Progress.NONE));
                }
                push.join();
                gcs.add(StoreMaintenance.gc(store, Duration.ZERO, Duration.ofMinutes(1), Progress.NONE));
                StoreMaintenance.VerifyResult v = StoreMaintenance.verify(store, name, Progress.NONE);
                assertTrue(v.ok(), "round " + round + " after " + gcs.size() + " gc runs: " + v.problems());
                Puller.pull(store, name, temp.resolve("out.mem"), 2, Progress.NONE);
                assertEquals(-1, TestMemory.mismatch(memory, temp.resolve("out.mem")));
                store.remove(name);
            }
            StoreMaintenance.gc(store, Duration.ZERO, Duration.ofMinutes(1), Progress.NONE);
            assertEquals(List.of(), store.objects().list(StoreLayout.PACKS));
        }
    }

    /** Distinct non-zero contents of pages {@code first .. end - 1} that no page of {@code ws} has. */
    private static long distinctContents(Path memory, long first, long end, List<PageRun> ws) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = TestMemory.map(memory, arena);
            MemorySegment zero = arena.allocate(TestMemory.PAGE);
            java.util.Set<java.nio.ByteBuffer> wsContents = new java.util.HashSet<>();
            ws.forEach(r -> java.util.stream.LongStream.range(r.firstPage(), r.endPage()).forEach(p ->
                    wsContents.add(java.nio.ByteBuffer.wrap(Hashes.sha256(m.asSlice(p * TestMemory.PAGE, TestMemory.PAGE))))));
            java.util.Set<java.nio.ByteBuffer> contents = new java.util.HashSet<>();
            for (long p = first; p < end; p++) {
                MemorySegment page = m.asSlice(p * TestMemory.PAGE, TestMemory.PAGE);
                java.nio.ByteBuffer hash = java.nio.ByteBuffer.wrap(Hashes.sha256(page));
                if (page.mismatch(zero) >= 0 && !wsContents.contains(hash)) {
                    contents.add(hash);
                }
            }
            return contents.size();
        }
    }

    private static long firstPageOf(Manifest m, int frame) {
        return m.pagesByFrame().get(frame).getFirst().firstPage();
    }

    static void assertOneLineNaming(Exception e, String key) {
        String message = e.getMessage();
        assertTrue(message.contains(key), "error does not name " + key + ": " + message);
        assertEquals(1, message.lines().count(), "error is not one line: " + message);
    }

    /** Real input that fails after {@code limit} page reads, as a disk that goes away would. */
    private record FailingInput(PageInput in, int limit, java.util.concurrent.atomic.AtomicInteger reads) implements PageInput {
        FailingInput(PageInput in, int limit) {
            this(in, limit, new java.util.concurrent.atomic.AtomicInteger());
        }

        @Override
        public int pageSize() {
            return in.pageSize();
        }

        @Override
        public long memorySize() {
            return in.memorySize();
        }

        @Override
        public List<PageRun> present() {
            return in.present();
        }

        @Override
        public MemorySegment page(long page) throws IOException {
            if (reads.incrementAndGet() > limit) {
                throw new IOException("disk gone at page " + page);
            }
            return in.page(page);
        }

        @Override
        public void close() {
        }
    }
}
