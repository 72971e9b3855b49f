package dev.sabre.handler;

import java.util.Random;
import java.util.stream.LongStream;

/** Which pages a simulated guest touches, and in what order: random, or every page shuffled. */
final class TouchPatterns {
    private TouchPatterns() {}

    /** {@code n} random pages of {@code pageCount}, repeats allowed. */
    static long[] randomPages(long pageCount, int n, long seed) {
        return new Random(seed).longs(n, 0, pageCount).toArray();
    }

    /** Every page of {@code pageCount}, once each, in a random order. */
    static long[] allPagesShuffled(long pageCount, long seed) {
        long[] pages = LongStream.range(0, pageCount).toArray();
        Random random = new Random(seed);
        for (int i = pages.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = pages[i];
            pages[i] = pages[j];
            pages[j] = t;
        }
        return pages;
    }
}
