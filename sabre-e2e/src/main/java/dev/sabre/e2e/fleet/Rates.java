package dev.sabre.e2e.fleet;

import dev.sabre.vmm.VmmException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Link rates in bits per second, written as tc does: {@code 1gbit}, {@code 100mbit}, {@code 500kbit}. */
public final class Rates {
    private static final Pattern RATE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmg]?)(?:bit|bps|b)?(?:/s)?");

    private Rates() {
    }

    /** Parses {@code 1gbit}, {@code 100mbit}, {@code 1G}, {@code 250m}; a one-line error names the text otherwise. */
    public static long parse(String text) {
        Matcher m = RATE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new VmmException("link rate '" + text + "': expected a number of bits per second with k, m or g, e.g. 1gbit or 100mbit");
        }
        double value = Double.parseDouble(m.group(1));
        long unit = switch (m.group(2)) {
            case "k" -> 1_000L;
            case "m" -> 1_000_000L;
            case "g" -> 1_000_000_000L;
            default -> 1L;
        };
        return Math.round(value * unit);
    }

    /** {@code 1 Gbit/s}, {@code 100 Mbit/s}. */
    public static String format(long bitsPerSecond) {
        if (bitsPerSecond >= 1_000_000_000L && bitsPerSecond % 1_000_000_000L == 0) {
            return bitsPerSecond / 1_000_000_000L + " Gbit/s";
        }
        if (bitsPerSecond >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.0f Mbit/s", bitsPerSecond / 1e6);
        }
        return String.format(Locale.ROOT, "%.0f kbit/s", bitsPerSecond / 1e3);
    }
}
