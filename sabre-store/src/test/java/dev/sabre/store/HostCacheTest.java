package dev.sabre.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.restore.MemoryInstaller;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-host cache in front of a real store: bound and LRU eviction, crashes mid-write, fetch-once under concurrency, privacy. */
class HostCacheTest {
    @TempDir
    Path temp;
    private Path memory;
    private CountingObjectStore counted;
    private SnapshotStore store;
    private Manifest manifest;

    @BeforeEach
    void pushSlice() throws Exception {
        memory = TestMemory.slice(temp.resolve("slice.mem"), 4096);
        counted = new CountingObjectStore(new DirectoryObjectStore(temp.resolve("store")));
        store = new SnapshotStore(counted);
        try (PageInput in = PageInput.open(memory, false)) {
            Pusher.push(store, in, List.of(new PageRun(0, 1024)), "s", Pusher.Options.defaults(), Progress.NONE);
        }
        manifest = store.manifest("s");
        counted.readBytes.set(0);
        counted.readRequests.set(0);
    }

    private long distinctFrameBytes() {
        return manifest.pagesByFrame().keySet().stream().mapToLong(f -> manifest.frames().get(f).stored().storedLength()).sum();
    }

    private static long cacheBytes(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> Files.isRegularFile(p) && !p.getParent().getFileName().toString().equals("locks"))
                    .mapToLong(p -> p.toFile().length()).sum();
        }
    }

    @Test
    void concurrentRestoresFetchEachByteOnceAndServeTheRightBytes() throws Exception {
        HostCache cache = HostCache.open(temp.resolve("cache"), 1L << 30);
        try (Arena arena = Arena.ofShared(); StorePages vm1 = StorePages.open(store, "s", cache);
             StorePages vm2 = StorePages.open(store, "s", cache)) {
            MemorySegment original = TestMemory.map(memory, arena);
            MemorySegment guest1 = arena.allocate(original.byteSize());
            MemorySegment guest2 = arena.allocate(original.byteSize());
            counted.readBytes.set(0);
            List<CompletableFuture<Void>> work = new ArrayList<>();
            work.add(CompletableFuture.runAsync(() -> uncheck(() -> vm1.prefetchWorkingSet(new MemoryInstaller(guest1), 4))));
            work.add(CompletableFuture.runAsync(() -> uncheck(() -> vm2.prefetchWorkingSet(new MemoryInstaller(guest2), 4))));
            for (int t = 0; t < 4; t++) {
                StorePages vm = t % 2 == 0 ? vm1 : vm2;
                MemorySegment guest = t % 2 == 0 ? guest1 : guest2;
                List<Long> order = new ArrayList<>();
                for (long p = 0; p < vm.manifest().pageCount(); p++) {
                    order.add(p);
                }
                if (t >= 2) {
                    Collections.shuffle(order, new Random(t)); // two fault in random order, two front to back
                }
                work.add(CompletableFuture.runAsync(() -> uncheck(() -> {
                    for (long p : order) {
                        vm.serve(p, new MemoryInstaller(guest));
                    }
                    return null;
                })));
            }
            work.forEach(CompletableFuture::join);
            assertEquals(-1, guest1.mismatch(original));
            assertEquals(-1, guest2.mismatch(original));
            assertEquals(distinctFrameBytes(), counted.readBytes.get(), "bytes fetched from the store by two concurrent restores");
            assertEquals(distinctFrameBytes(), vm1.bytesRead() + vm2.bytesRead());
        }
    }

    @Test
    void twoProcessesRestoringAtOnceFetchEachByteOnce() throws Exception {
        Path cacheDir = temp.resolve("cache");
        List<Process> children = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), CacheClient.class.getName(),
                    temp.resolve("store") + "/s", cacheDir.toString());
            child.redirectError(ProcessBuilder.Redirect.INHERIT);
            children.add(child.start());
        }
        try {
            List<java.io.BufferedReader> outputs = new ArrayList<>();
            for (Process p : children) {
                java.io.BufferedReader out = p.inputReader();
                assertEquals("ready", out.readLine());
                outputs.add(out);
            }
            for (Process p : children) { // both start serving at once
                p.getOutputStream().write('\n');
                p.getOutputStream().flush();
            }
            long fetched = 0;
            for (java.io.BufferedReader out : outputs) {
                String line = out.readLine();
                assertTrue(line != null && line.startsWith("fetched "), String.valueOf(line));
                fetched += Long.parseLong(line.substring("fetched ".length()));
            }
            assertEquals(distinctFrameBytes(), fetched, "bytes fetched by two processes restoring the same snapshot at once");
        } finally {
            for (Process p : children) {
                p.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void evictsLeastRecentlyUsedEntriesToStayWithinItsBound() throws Exception {
        long bound = distinctFrameBytes() / 3;
        HostCache cache = HostCache.open(temp.resolve("cache"), bound);
        try (Arena arena = Arena.ofShared(); StorePages pages = StorePages.open(store, "s", cache)) {
            MemoryInstaller installer = new MemoryInstaller(arena.allocate(pages.memorySize()));
            byte[] keep = manifest.frames().get(manifest.frameOfSlot(manifest.extentOf(0).slot())).stored().sha256();
            for (long p = 0; p < pages.manifest().pageCount(); p++) {
                pages.serve(p, installer);
                cache.get(keep, () -> {
                    throw new AssertionError("the most recently used entry was evicted");
                });
            }
            assertTrue(cacheBytes(cache.dir()) <= bound, cacheBytes(cache.dir()) + " bytes cached over the bound " + bound);
            assertTrue(cache.contains(keep));
        }
    }

    @Test
    void aCrashMidWriteLeavesNothingThatIsEverServed() throws Exception {
        Path dir = temp.resolve("cache");
        HostCache.open(dir, 1L << 30);
        int frame = manifest.frameOfSlot(manifest.extentOf(0).slot());
        StoredFrame f = manifest.frames().get(frame).stored();
        String hex = HexFormat.of().formatHex(f.sha256());
        byte[] stored = store.fetchFrame(manifest, frame);
        // A process killed while writing: a partial temporary file, and (after a power loss without fsync) a torn entry.
        Path temporary = dir.resolve(hex.substring(0, 2)).resolve(".tmp-" + hex + "-crashed");
        Files.createDirectories(temporary.getParent());
        Files.write(temporary, java.util.Arrays.copyOf(stored, stored.length / 2));
        Files.setLastModifiedTime(temporary, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
        Files.write(dir.resolve(hex.substring(0, 2)).resolve(hex), java.util.Arrays.copyOf(stored, stored.length / 2));

        HostCache cache = HostCache.open(dir, 1L << 30);
        assertFalse(Files.exists(temporary), "a stale temporary file survived a restart");
        try (Arena arena = Arena.ofConfined(); StorePages pages = StorePages.open(store, "s", cache)) {
            MemorySegment guest = arena.allocate(pages.memorySize());
            pages.serve(0, new MemoryInstaller(guest));
            MemorySegment original = TestMemory.map(memory, arena);
            assertEquals(-1, guest.asSlice(0, 4096).mismatch(original.asSlice(0, 4096)));
            assertEquals(1, cache.fetches(), "the torn entry was not fetched again");
            assertEquals(stored.length, Files.size(dir.resolve(hex.substring(0, 2)).resolve(hex)));
        }
    }

    /**
     * fcntl locks belong to processes, so when a thread here holds one cache lock and another process holds a
     * second while waiting for the first, a thread here asking for the second looks like a deadlock to the
     * kernel (EDEADLK), though the holders let go. The fetch waits that out and gets its frame. The other
     * process is python3 taking the same locks with lockf (fcntl), as a second handler's threads would.
     */
    @Test
    void aLockCycleBetweenTwoProcessesThreadsIsWaitedOutNotFailed() throws Exception {
        Path dir = temp.resolve("cache");
        HostCache cache = HostCache.open(dir, 1L << 30);
        Random random = new Random(7);
        byte[] first = new byte[4096], second = new byte[4096];
        random.nextBytes(first);
        random.nextBytes(second);
        String firstStripe = HexFormat.of().formatHex(Hashes.sha256(first)).substring(0, 3);
        String secondStripe = HexFormat.of().formatHex(Hashes.sha256(second)).substring(0, 3);
        assertFalse(firstStripe.equals(secondStripe), "the two frames need two lock files");
        Process other = new ProcessBuilder("python3", "-c", """
                import fcntl, sys
                second = open(sys.argv[2], "a"); fcntl.lockf(second, fcntl.LOCK_EX)
                print("holding", flush=True); sys.stdin.readline()
                first = open(sys.argv[1], "a"); fcntl.lockf(first, fcntl.LOCK_EX)
                """, dir.resolve("locks").resolve(firstStripe).toString(), dir.resolve("locks").resolve(secondStripe).toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var fromOther = new java.io.BufferedReader(new java.io.InputStreamReader(other.getInputStream()));
             var toOther = new java.io.PrintWriter(other.getOutputStream(), true)) {
            assertEquals("holding", fromOther.readLine());
            CompletableFuture<Void> loading = new CompletableFuture<>();
            CompletableFuture<Void> release = new CompletableFuture<>();
            CompletableFuture<byte[]> holder = CompletableFuture.supplyAsync(() -> {
                try {
                    return cache.get(Hashes.sha256(first), () -> {
                        loading.complete(null);
                        release.join();
                        return first;
                    });
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            });
            loading.join(); // this process now holds the first lock
            toOther.println("go");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (Files.readAllLines(Path.of("/proc/locks")).stream()
                    .noneMatch(l -> l.contains("->") && l.contains(" " + other.pid() + " "))) {
                assertTrue(System.nanoTime() < deadline, "python3 never waited for the first lock");
                Thread.sleep(5);
            }
            CompletableFuture<byte[]> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    return cache.get(Hashes.sha256(second), () -> second);
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            });
            // Without the wait-out, the waiter fails at once with "Resource deadlock avoided".
            try {
                waiter.get(500, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException stillWaiting) {
                // as it should: the second lock is python's until it gets the first
            }
            release.complete(null);
            assertEquals(-1, java.util.Arrays.mismatch(first, holder.get(60, java.util.concurrent.TimeUnit.SECONDS)));
            assertEquals(-1, java.util.Arrays.mismatch(second, waiter.get(60, java.util.concurrent.TimeUnit.SECONDS)));
            assertEquals(0, other.waitFor());
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void theCacheDirectoryIsPrivateToItsOwner() throws Exception {
        Path dir = temp.resolve("shared-looking");
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        HostCache.open(dir, 1 << 20);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    }

    private interface Action {
        Object run() throws Exception;
    }

    private static void uncheck(Action action) {
        try {
            action.run();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
