package dev.sabre.bench.restore;

import dev.sabre.format.PageRun;
import dev.sabre.handler.HandlerConfig;
import dev.sabre.handler.PageFaultHandler;
import dev.sabre.handler.SessionReport;
import dev.sabre.handler.SimulatedVmm;
import dev.sabre.handler.Strategy;
import dev.sabre.linux.Fds;
import dev.sabre.linux.FileIo;
import dev.sabre.linux.Memory;
import dev.sabre.restore.Installer;
import dev.sabre.restore.StorageFile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The reference points every restore is compared with, measured in the same run on the same pages. */
final class Baselines {
    private static final int FLOOR_PIECE_PAGES = 64;

    private Baselines() {}

    /** Writes the pages of {@code runs} back to back, raw, as REAP's working-set file. */
    static void writeRawWorkingSet(MemorySegment memory, List<PageRun> runs, Path out) throws IOException {
        int fd = FileIo.open(out, FileIo.O_WRONLY | FileIo.O_CREAT | FileIo.O_TRUNC | FileIo.O_CLOEXEC, 0600);
        try {
            long at = 0;
            for (PageRun run : runs) {
                MemorySegment bytes = memory.asSlice(run.firstPage() * 4096, run.pageCount() * 4096L);
                FileIo.writeFully(fd, bytes, at);
                at += bytes.byteSize();
            }
            FileIo.fsync(fd);
        } finally {
            Fds.closeQuietly(fd);
        }
    }

    /**
     * REAP's replay: one read of the whole raw working-set file (O_DIRECT when cold), then one UFFDIO_COPY
     * per contiguous run, on one thread. Returns microseconds.
     */
    static long reapPassthrough(Path rawWs, List<PageRun> runs, Installer installer, boolean direct) throws IOException {
        long start = System.nanoTime();
        long size = Files.size(rawWs);
        // A fresh mapping, as a C implementation would use: no zero-filling pass before the read.
        MemorySegment buffer = Memory.mapAnonymous(StorageFile.bufferSizeFor(size));
        try (StorageFile file = StorageFile.open(rawWs, direct)) {
            MemorySegment data = file.read(0, size, buffer);
            long at = 0;
            for (PageRun run : runs) {
                installer.copy(run.firstPage() * 4096, data.asSlice(at, run.pageCount() * 4096L));
                at += run.pageCount() * 4096L;
            }
        } finally {
            Memory.munmap(buffer);
        }
        return (System.nanoTime() - start) / 1000;
    }

    /**
     * The floor: UFFDIO_COPY of data already in memory, one call per run on {@code threads} threads, with no
     * reading and no decompression. The pages are first gathered into a private buffer (outside the timing),
     * as a restore's decoded data would be, so the kernel copies from memory that is already mapped.
     * Returns microseconds.
     */
    static long copyFloor(MemorySegment source, List<PageRun> runs, Installer installer, int threads)
            throws IOException, InterruptedException {
        long total = runs.stream().mapToLong(PageRun::pageCount).sum() * 4096L;
        MemorySegment buffer = Memory.mapAnonymous(total);
        try {
            long pos = 0;
            for (PageRun run : runs) {
                Memory.copy(source.asSlice(run.firstPage() * 4096, run.pageCount() * 4096L), buffer.asSlice(pos));
                pos += run.pageCount() * 4096L;
            }
            // Runs cut into pieces of at most 256 KiB, so that threads share even one long run.
            List<PageRun> pieces = new ArrayList<>();
            List<Long> at = new ArrayList<>();
            pos = 0;
            for (PageRun run : runs) {
                for (long p = 0; p < run.pageCount(); p += FLOOR_PIECE_PAGES) {
                    int n = (int) Math.min(FLOOR_PIECE_PAGES, run.pageCount() - p);
                    pieces.add(new PageRun(run.firstPage() + p, n));
                    at.add(pos);
                    pos += n * 4096L;
                }
            }
            AtomicInteger next = new AtomicInteger();
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                workers.add(Thread.ofPlatform().start(() -> {
                    int i;
                    try {
                        while ((i = next.getAndIncrement()) < pieces.size()) {
                            PageRun run = pieces.get(i);
                            installer.copy(run.firstPage() * 4096, buffer.asSlice(at.get(i), run.pageCount() * 4096L));
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
            if (!failures.isEmpty()) {
                throw new IOException("floor copy failed: " + failures.getFirst(), failures.getFirst());
            }
            return (System.nanoTime() - start) / 1000;
        } finally {
            Memory.munmap(buffer);
        }
    }

    /** Result of serving pages one fault at a time: the VMM-side wall time and the handler's fault report. */
    record Lazy(long totalUs, SessionReport report) {}

    /**
     * Lazy 4 KiB faults: a real handler ({@link Strategy#LAZY}) serving {@code memory} (raw or .sabre) to a
     * simulated VMM that touches {@code pages} in order on one vCPU thread.
     */
    static Lazy lazyFaults(Path memory, Path expected, long[] pages, Path socketDir) throws Exception {
        return served(memory, expected, Strategy.LAZY, Memory.pageSize(), pages, socketDir);
    }

    /**
     * A real handler serving {@code memory} with {@code strategy} to a simulated VMM whose memory is on pages of
     * {@code guestPageSize} (4 KiB, or 2 MiB hugetlb pages the caller reserved), touching {@code pages} in
     * order on one vCPU thread.
     */
    static Lazy served(Path memory, Path expected, Strategy strategy, long guestPageSize, long[] pages, Path socketDir)
            throws Exception {
        Path socket = socketDir.resolve("bench-" + System.nanoTime() + ".sock");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        BlockingQueue<SessionReport> reports = new LinkedBlockingQueue<>();
        try (PageFaultHandler handler = PageFaultHandler.start(HandlerConfig.of(socket, memory, strategy).withLog(quiet))) {
            handler.onSessionEnd(reports::add);
            long us;
            try (SimulatedVmm vmm = SimulatedVmm.start(socket, expected, 1, guestPageSize)) {
                long start = System.nanoTime();
                SimulatedVmm.TouchResult result = vmm.touch(pages, 1);
                us = (System.nanoTime() - start) / 1000;
                if (!result.ok()) {
                    throw new IOException(strategy + " on " + guestPageSize + "-byte pages: page " + result.firstMismatch()
                            + " differs from the source");
                }
            }
            SessionReport report = reports.poll(60, TimeUnit.SECONDS);
            return new Lazy(us, report);
        }
    }
}
