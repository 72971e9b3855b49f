package dev.sabre.cli;

import java.util.Locale;

/** Sizes and durations in the units a person reads: 1.5 GiB, 340 ms. */
public final class Units {
    private Units() {
    }

    public static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, value >= 100 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    }

    public static String nanos(long nanos) {
        if (nanos < 10_000) {
            return String.format(Locale.ROOT, "%.1f us", nanos / 1e3);
        }
        if (nanos < 10_000_000_000L) {
            return String.format(Locale.ROOT, "%.0f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }

    public static String rate(long bytes, long nanos) {
        return nanos <= 0 ? "-" : bytes((long) (bytes * 1e9 / nanos)) + "/s";
    }

    /** Parses a size such as 4096, 16K, 64KiB or 2M (binary units). */
    public static long parseBytes(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long multiplier = 1;
        if (!t.isEmpty() && Character.isLetter(t.charAt(t.length() - 1))) {
            multiplier = switch (t.charAt(t.length() - 1)) {
                case 'K' -> 1L << 10;
                case 'M' -> 1L << 20;
                case 'G' -> 1L << 30;
                default -> throw new IllegalArgumentException("unknown size unit in '" + text + "' (use K, M or G)");
            };
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(t.trim()), multiplier);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size (examples: 4096, 16K, 64KiB, 2M)");
        }
    }
}
