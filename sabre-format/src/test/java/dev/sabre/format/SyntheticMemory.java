package dev.sabre.format;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Guest memories with a known structure, written as (possibly sparse) files for round-trip tests. */
enum SyntheticMemory {
    ALL_ZERO, ALL_RANDOM, EVERY_OTHER_PAGE, SINGLE_PAGE_RUNS, DUPLICATES, MIXED, SPARSE_DIFF;

    static final int PAGE = 4096;
    static final int PAGES = 384;

    /** Writes the memory to {@code file}; returns its data extents (null when the whole file is data). */
    List<long[]> write(Path file) throws IOException {
        Random random = new Random(ordinal() * 31L + 1);
        List<long[]> extents = new ArrayList<>();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] duplicate = text(random, 0);
            for (int p = 0; p < PAGES; p++) {
                byte[] page = switch (this) {
                    case ALL_ZERO -> null;
                    case ALL_RANDOM -> randomPage(random);
                    case EVERY_OTHER_PAGE -> p % 2 == 0 ? text(random, p) : null;
                    case SINGLE_PAGE_RUNS -> p % 5 == 0 ? randomPage(random) : null;
                    case DUPLICATES -> p % 3 == 0 ? duplicate : p % 3 == 1 ? text(random, p % 7) : null;
                    case MIXED -> switch (p % 11) {
                        case 0, 1, 2 -> text(random, p);
                        case 3 -> randomPage(random);
                        case 4, 5 -> duplicate;
                        default -> p > PAGES / 2 ? text(random, p) : null;
                    };
                    case SPARSE_DIFF -> (p / 16) % 3 == 1 ? text(random, p) : null;
                };
                if (page != null) {
                    channel.write(ByteBuffer.wrap(page), (long) p * PAGE);
                    if (this == SPARSE_DIFF) {
                        extents.add(new long[] {(long) p * PAGE, PAGE});
                    }
                } else if (this != SPARSE_DIFF) {
                    channel.write(ByteBuffer.allocate(PAGE), (long) p * PAGE);
                }
            }
            if (channel.size() < (long) PAGES * PAGE) {
                channel.write(ByteBuffer.allocate(1), (long) PAGES * PAGE - 1);
            }
        }
        return this == SPARSE_DIFF ? extents : null;
    }

    static byte[] randomPage(Random random) {
        byte[] page = new byte[PAGE];
        random.nextBytes(page);
        return page;
    }

    /** A compressible page: JSON-like text with a per-page seed, like a Python heap. */
    static byte[] text(Random random, int seed) {
        StringBuilder sb = new StringBuilder(PAGE);
        while (sb.length() < PAGE) {
            sb.append("{\"id\": ").append(seed * 1000 + random.nextInt(1000)).append(", \"name\": \"item")
                    .append(random.nextInt(50)).append("\"}, ");
        }
        return sb.substring(0, PAGE).getBytes(StandardCharsets.US_ASCII);
    }
}
