package dev.sabre.handler;

import java.util.Arrays;

/**
 * Service latencies of one session's page faults (from reading the event to the page being installed),
 * kept exactly so percentiles are true ones. 8 bytes per fault: a million faults cost 8 MB.
 */
final class FaultLatencies {
    private long[] nanos = new long[1024];
    private int count;

    synchronized void add(long latencyNanos) {
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = latencyNanos;
    }

    synchronized int count() {
        return count;
    }

    /** The {@code p}-th percentile (0..100) in microseconds, nearest-rank; 0 when there were no faults. */
    synchronized double percentileUs(double p) {
        if (count == 0) {
            return 0;
        }
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * count);
        return sorted[Math.clamp(rank - 1, 0, count - 1)] / 1000.0;
    }

    synchronized double maxUs() {
        long max = 0;
        for (int i = 0; i < count; i++) {
            max = Math.max(max, nanos[i]);
        }
        return max / 1000.0;
    }
}
