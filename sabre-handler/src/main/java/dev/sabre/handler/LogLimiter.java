package dev.sabre.handler;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Log lines about things peers can make happen as often as they like (connections dropped, handshakes
 * refused, accept failing): the first of each kind in an interval is printed at once, the rest are counted
 * and summed up in one line when the interval ends, so the log grows by a few lines per second whatever a
 * peer does. Used by one thread.
 */
final class LogLimiter {
    private static final long INTERVAL_NANOS = 1_000_000_000L;

    private record Held(long count, String last) {}

    private final PrintStream log;
    private final Map<String, Held> held = new LinkedHashMap<>();
    private long intervalStart = System.nanoTime();

    LogLimiter(PrintStream log) {
        this.log = log;
    }

    /** Logs {@code kind: detail} now, or counts it if a line of that kind was already printed this interval. */
    void note(String kind, String detail) {
        flushIfDue();
        Held h = held.get(kind);
        if (h == null) {
            log.println("sabre handler: " + kind + ": " + detail);
            held.put(kind, new Held(0, detail));
        } else {
            held.put(kind, new Held(h.count() + 1, detail));
        }
    }

    /** Milliseconds until the current interval ends (when counted lines are due); -1 if none are held. */
    long millisUntilDue() {
        if (held.isEmpty()) {
            return -1;
        }
        return Math.max(0, (intervalStart + INTERVAL_NANOS - System.nanoTime()) / 1_000_000L) + 1;
    }

    /** Prints the counted lines if the interval has ended. */
    void flushIfDue() {
        long now = System.nanoTime();
        if (now - intervalStart < INTERVAL_NANOS) {
            return;
        }
        for (Map.Entry<String, Held> e : held.entrySet()) {
            if (e.getValue().count() > 0) {
                log.println("sabre handler: " + e.getKey() + ": " + e.getValue().count()
                        + " more in the last second (last: " + e.getValue().last() + ")");
            }
        }
        held.clear();
        intervalStart = now;
    }
}
