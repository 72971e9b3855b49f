package dev.sabre.e2e;

import java.util.Arrays;
import java.util.List;

/** Median and spread of a few repetitions: min, quartiles (linear interpolation) and max. */
public record Stats(int count, double min, double p25, double median, double p75, double max) {
    public static Stats of(List<Long> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("no values");
        }
        double[] v = values.stream().mapToDouble(Long::doubleValue).toArray();
        Arrays.sort(v);
        return new Stats(v.length, v[0], percentile(v, 25), percentile(v, 50), percentile(v, 75), v[v.length - 1]);
    }

    private static double percentile(double[] sorted, double p) {
        double rank = p / 100 * (sorted.length - 1);
        int low = (int) Math.floor(rank);
        int high = Math.min(sorted.length - 1, low + 1);
        return sorted[low] + (rank - low) * (sorted[high] - sorted[low]);
    }
}
