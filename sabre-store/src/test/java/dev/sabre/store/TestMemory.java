package dev.sabre.store;

import dev.sabre.format.Datasets;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

/** Real guest memory for store tests: the shared dataset, slices of it, and modified copies. */
final class TestMemory {
    static final String DATASET = "python-json-512m";
    static final int PAGE = 4096;

    private TestMemory() {
    }

    static Path dataset() throws IOException {
        return Datasets.memoryFile(DATASET);
    }

    /**
     * A small memory file of {@code pages} pages: the dataset's first non-zero pages in address order,
     * with every fourth page left zero (so the map has both kinds), written to {@code out}.
     */
    static Path slice(Path out, int pages) throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel in = FileChannel.open(dataset(), StandardOpenOption.READ);
             FileChannel o = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            MemorySegment memory = in.map(FileChannel.MapMode.READ_ONLY, 0, in.size(), arena);
            MemorySegment zero = arena.allocate(PAGE);
            long source = 0;
            for (int p = 0; p < pages; p++) {
                if (p % 4 == 3) {
                    o.write(ByteBuffer.allocate(PAGE), (long) p * PAGE);
                    continue;
                }
                while (memory.asSlice(source * PAGE, PAGE).mismatch(zero) < 0) {
                    source++;
                }
                o.write(memory.asSlice(source++ * PAGE, PAGE).asByteBuffer(), (long) p * PAGE);
            }
        }
        return out;
    }

    /**
     * A copy of {@code source} as the next snapshot of the same function might be: {@code changed} random
     * non-zero pages overwritten with other content (random bytes), the rest identical.
     */
    static Path modifiedCopy(Path source, Path out, int changed, long seed) throws IOException {
        Files.copy(source, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Random random = new Random(seed);
        try (FileChannel o = FileChannel.open(out, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long pages = o.size() / PAGE;
            byte[] page = new byte[PAGE];
            for (int i = 0; i < changed; i++) {
                random.nextBytes(page);
                o.write(ByteBuffer.wrap(page), (random.nextLong(pages)) * PAGE);
            }
        }
        return out;
    }

    /** The first offset where the two files differ, or -1 when they are byte for byte equal. */
    static long mismatch(Path a, Path b) throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel x = FileChannel.open(a); FileChannel y = FileChannel.open(b)) {
            if (x.size() != y.size()) {
                return Math.min(x.size(), y.size());
            }
            return x.map(FileChannel.MapMode.READ_ONLY, 0, x.size(), arena)
                    .mismatch(y.map(FileChannel.MapMode.READ_ONLY, 0, y.size(), arena));
        }
    }

    /** The whole memory file mapped, for comparing pages served into memory. */
    static MemorySegment map(Path file, Arena arena) throws IOException {
        try (FileChannel c = FileChannel.open(file)) {
            return c.map(FileChannel.MapMode.READ_ONLY, 0, c.size(), arena);
        }
    }

}
