package dev.sabre.store;

import dev.sabre.format.Progress;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Writes a stored snapshot back as a raw memory file: sparse (zero and absent pages are holes), each
 * frame fetched with one ranged request, checked, decoded once and its pages written where they go, by
 * several threads at once. The file is written under a temporary name, synced and renamed, so OUT is
 * either complete or absent. Disk frames are read from the VM's disk image, checked the same way.
 */
public final class Puller {
    public record Result(long memoryBytes, long pageBytesWritten, long fetchedBytes, long requests, long nanos) {
    }

    private Puller() {
    }

    public static Result pull(SnapshotStore store, String name, Path out, int threads, Progress progress) throws IOException {
        return pull(store, name, null, out, threads, progress);
    }

    /** {@link #pull}, reading the snapshot's disk frames from {@code disk} (null when it has none). */
    public static Result pull(SnapshotStore store, String name, SnapshotDisk disk, Path out, int threads, Progress progress)
            throws IOException {
        long start = System.nanoTime();
        Manifest m = store.manifest(name);
        SnapshotDisk.checkGiven(disk, m, store.location() + "/" + name);
        Map<Integer, List<Manifest.FrameRun>> byFrame = m.pagesByFrame();
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path temp = Files.createTempFile(parent, "." + out.getFileName(), ".tmp");
        AtomicLong written = new AtomicLong();
        AtomicLong fetched = new AtomicLong();
        long requests;
        long total = byFrame.values().stream().flatMap(List::stream).mapToLong(Manifest.FrameRun::pageCount).sum() * m.pageSize();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), Thread.ofPlatform().daemon().name("pull-", 0).factory());
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(temp.toFile(), "rw")) {
            file.setLength(m.memorySize()); // ftruncate: the whole memory size, every page a hole until written
            FileChannel channel = file.getChannel();
            ThreadLocal<MemorySegment> raw = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(maxFrameBytes(m), 4096));
            List<Future<?>> work = new ArrayList<>();
            List<int[]> ranges = SnapshotStore.ranges(m, byFrame.keySet());
            requests = ranges.size();
            // Writes frame's pages where they go, from its stored bytes at data[from ..].
            interface FrameWriter {
                void write(int frame, byte[] data, long from) throws IOException;
            }
            FrameWriter writer = (frame, data, from) -> {
                MemorySegment decoded = raw.get().asSlice(0, m.rawBytes(frame));
                store.decodeFrame(m, frame, MemorySegment.ofArray(data).asSlice(from, m.frames().get(frame).stored().storedLength()), decoded);
                for (Manifest.FrameRun run : byFrame.getOrDefault(frame, List.of())) {
                    long bytes = (long) run.pageCount() * m.pageSize();
                    var buffer = decoded.asSlice((long) run.slot() * m.pageSize(), bytes).asByteBuffer();
                    long position = run.firstPage() * m.pageSize();
                    while (buffer.hasRemaining()) {
                        position += channel.write(buffer, position);
                    }
                    progress.update("pull", written.addAndGet(bytes), total);
                }
            };
            for (int[] range : ranges) {
                work.add(pool.submit(() -> {
                    byte[] data = store.fetchFrames(m, range[0], range[1]);
                    fetched.addAndGet(data.length);
                    long base = m.frames().get(range[0]).stored().offset();
                    for (int frame = range[0]; frame < range[1]; frame++) {
                        writer.write(frame, data, m.frames().get(frame).stored().offset() - base);
                    }
                    return null;
                }));
            }
            for (int frame : byFrame.keySet()) {
                if (m.frames().get(frame).onDisk()) {
                    work.add(pool.submit(() -> {
                        writer.write(frame, disk.frame(m, frame), 0);
                        return null;
                    }));
                }
            }
            for (Future<?> w : work) {
                Futures.get(w);
            }
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            pool.shutdownNow();
            Files.deleteIfExists(temp);
            throw e;
        } finally {
            pool.shutdownNow();
        }
        Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        progress.update("pull", total, total);
        return new Result(m.memorySize(), written.get(), fetched.get(), requests, System.nanoTime() - start);
    }

    static long maxFrameBytes(Manifest m) {
        return Math.max(1, IntStream.range(0, m.frames().size()).mapToLong(m::rawBytes).max().orElse(1));
    }
}
