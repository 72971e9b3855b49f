package dev.sabre.format;

import java.util.Arrays;

/**
 * An open-addressing map from long to non-negative long, for page numbers and content hashes:
 * millions of entries without boxing. {@link #get} returns -1 for a missing key.
 */
final class LongLongMap {
    private final long[] keys;
    private final long[] values;
    private final int mask;

    LongLongMap(int expected) {
        long wanted = Math.max(4L, expected) * 2;
        if (wanted > 1L << 30) {
            throw new IllegalArgumentException("a map of " + expected + " entries is larger than this packer supports");
        }
        int capacity = Integer.highestOneBit((int) wanted - 1) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(values, -1);
        mask = capacity - 1;
    }

    void put(long key, long value) {
        int i = slot(key);
        while (values[i] >= 0 && keys[i] != key) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
    }

    long get(long key) {
        int i = slot(key);
        while (values[i] >= 0) {
            if (keys[i] == key) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
