package dev.sabre.firecracker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Last-resort cleanup at JVM exit: every Firecracker process from the moment it is started (before its
 * API socket is up, when no VM object holds it yet) until it is stopped, with what else must go with it
 * (TAP device, jail, work directory). A JVM that exits abruptly thus leaves no Firecracker behind.
 */
final class Reaper {
    private static final Map<Object, Runnable> LIVE = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.values().forEach(r -> {
            try {
                r.run();
            } catch (RuntimeException ignored) {
                // exiting anyway
            }
        }), "sabre-firecracker-reaper"));
    }

    private Reaper() {
    }

    /** Runs {@code cleanup} at JVM exit unless {@link #forget} is called for {@code owner} first. */
    static void register(Object owner, Runnable cleanup) {
        LIVE.put(owner, cleanup);
    }

    static void forget(Object owner) {
        LIVE.remove(owner);
    }
}
