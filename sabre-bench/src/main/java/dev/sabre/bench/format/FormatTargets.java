package dev.sabre.bench.format;

import dev.sabre.format.PageKind;
import dev.sabre.format.PageReader;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.FileIo;
import dev.sabre.linux.Fds;
import dev.sabre.restore.MemoryInstaller;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreOptions;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Measures a snapshot against its raw memory file in one run: unpacking into memory from storage (the
 * snapshot evicted from the page cache first, so reading it is part of the time) versus reading the raw
 * file with O_DIRECT (the baseline every restore without Sabre pays), and the latency of decoding one
 * random page (what a lazy fault costs). The O_DIRECT read of the snapshot alone is reported too. Each
 * timing is the best of several repetitions.
 */
public final class FormatTargets {
    public record Result(long memoryBytes, long snapshotBytes, long rawDirectReadNanos, long snapshotDirectReadNanos,
                         long unpackNanos, double pageP50us, double pageP99us, double pageMaxUs, int samples, int threads) {
        public double ratio() {
            return (double) memoryBytes / snapshotBytes;
        }

        /**
         * Unpacking into memory from storage (the snapshot's cached pages dropped first, so the unpack's time
         * includes reading it) versus the O_DIRECT read of the raw file.
         */
        public double unpackSpeedup() {
            return (double) rawDirectReadNanos / unpackNanos;
        }
    }

    private FormatTargets() {
    }

    public static Result measure(Path rawMemory, Path snapshot, int repetitions, int samples, int threads) throws IOException {
        try (SnapshotReader reader = SnapshotReader.open(snapshot); Arena arena = Arena.ofShared()) {
            long memory = reader.header().memorySize();
            MemorySegment buffer = FileIo.alignedBuffer(arena, 8L << 20);
            long rawRead = Long.MAX_VALUE;
            long snapRead = Long.MAX_VALUE;
            long unpack = Long.MAX_VALUE;
            MemorySegment dest = arena.allocate(memory, 4096);
            for (int rep = 0; rep < repetitions; rep++) {
                rawRead = Math.min(rawRead, directRead(rawMemory, buffer));
                snapRead = Math.min(snapRead, directRead(snapshot, buffer));
                dest.fill((byte) 0);
                dropCache(snapshot); // the unpack reads the snapshot from storage, as the raw read does
                long start = System.nanoTime();
                // Fresh memory is zero already, as anonymous guest memory is: zero pages need no work. The file
                // comes from storage, so it is read as cold storage is: O_DIRECT, reads overlapping decoding.
                try (RestoreEngine engine = RestoreEngine.start(reader, new MemoryInstaller(dest),
                        RestoreOptions.defaults().withThreads(threads).withZeroPages(false).withDirectIo(true))) {
                    engine.await();
                }
                unpack = Math.min(unpack, System.nanoTime() - start);
            }
            // The unpack read with O_DIRECT, which leaves nothing in the page cache: page latency is measured
            // on a cached file, as before, so it counts decoding and not storage.
            try (var in = Files.newInputStream(snapshot)) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
            }
            long[] latency = pageLatency(reader, samples, arena);
            return new Result(memory, reader.fileSize(), rawRead, snapRead, unpack, latency[latency.length / 2] / 1e3,
                    latency[Math.min(latency.length - 1, (int) (latency.length * 0.99))] / 1e3, latency[latency.length - 1] / 1e3,
                    latency.length, threads);
        }
    }

    /** Evicts {@code file}'s pages from the page cache, so the next read of it comes from storage. */
    static void dropCache(Path file) throws IOException {
        int fd = FileIo.open(file, FileIo.O_RDONLY | FileIo.O_CLOEXEC);
        try {
            FileIo.fadvise(fd, 0, 0, FileIo.POSIX_FADV_DONTNEED);
        } finally {
            Fds.close(fd);
        }
    }

    /** Reads a whole file with O_DIRECT in 8 MiB requests; returns the time taken. */
    static long directRead(Path file, MemorySegment buffer) throws IOException {
        int fd = FileIo.open(file, FileIo.O_RDONLY | FileIo.O_DIRECT | FileIo.O_CLOEXEC);
        try {
            long size = FileIo.size(fd);
            long start = System.nanoTime();
            for (long at = 0; at < size; ) {
                long n = FileIo.pread(fd, buffer, at);
                if (n <= 0) {
                    break;
                }
                at += n;
            }
            return System.nanoTime() - start;
        } finally {
            Fds.close(fd);
        }
    }

    private static long[] pageLatency(SnapshotReader snapshot, int samples, Arena arena) throws IOException {
        try (PageReader reader = snapshot.pageReader()) {
            return pageLatency(snapshot, reader, samples, arena);
        }
    }

    private static long[] pageLatency(SnapshotReader snapshot, PageReader reader, int samples, Arena arena) throws IOException {
        SnapshotReader map = snapshot;
        Random random = new Random(7);
        MemorySegment page = arena.allocate(map.header().pageSize());
        long pages = map.header().pageCount();
        long[] latency = new long[samples];
        // Warm up the decoder and the code path first, like a handler that has served a few faults.
        for (int i = 0, found = 0; found < 200 && i < 1_000_000; i++) {
            long p = random.nextLong(pages);
            if (map.kindOf(p) == PageKind.STORED) {
                reader.readPage(p, page);
                found++;
            }
        }
        for (int i = 0; i < samples; ) {
            long p = random.nextLong(pages);
            if (map.kindOf(p) != PageKind.STORED) {
                continue;
            }
            long start = System.nanoTime();
            reader.readPage(p, page);
            latency[i++] = System.nanoTime() - start;
        }
        Arrays.sort(latency);
        return latency;
    }
}
