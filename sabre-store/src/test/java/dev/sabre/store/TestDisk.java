package dev.sabre.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A root file system image for disk-frame tests, as a guest's page cache relates to its disk: pages of a memory
 * file appear in it as blocks, a file's consecutive blocks at scattered guest pages. Here the memory's pages
 * {@code first ..} are cut into runs of 1-16 pages, the runs written in a shuffled order, each after 0-3 blocks of
 * other (random) data.
 */
public final class TestDisk {
    private TestDisk() {
    }

    public static Path image(Path memory, Path out, long first, int pages, long seed) throws IOException {
        Random random = new Random(seed);
        List<long[]> runs = new ArrayList<>();
        for (long p = first; p < first + pages; ) {
            int n = (int) Math.min(1 + random.nextInt(16), first + pages - p);
            runs.add(new long[] {p, n});
            p += n;
        }
        Collections.shuffle(runs, random);
        try (FileChannel in = FileChannel.open(memory, StandardOpenOption.READ);
             FileChannel o = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer block = ByteBuffer.allocate(TestMemory.PAGE);
            long at = 0;
            for (long[] run : runs) {
                for (int gap = random.nextInt(4); gap > 0; gap--) {
                    random.nextBytes(block.array());
                    at += o.write(block.clear(), at);
                }
                for (long p = run[0]; p < run[0] + run[1]; p++) {
                    in.read(block.clear(), p * TestMemory.PAGE);
                    at += o.write(block.flip(), at);
                }
            }
        }
        return out;
    }
}
