package dev.sabre.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Keeps {@code gc} and pushes apart, so no push ever references an object a concurrent gc deletes.
 * Each side first writes its own marker under {@code locks/}, then lists the other side's: a push
 * proceeds only when no live gc marker exists, a gc only when no live push (or other gc) marker does.
 * Whichever writes second sees the first (stores are strongly consistent: S3 since 2020, a local
 * directory always); if both see each other, both withdraw and retry after a random pause. Pushes do
 * not exclude each other. A holder rewrites its marker every {@link #HEARTBEAT}; a marker not rewritten
 * for {@link #STALE} (by the store's clock, comparing the markers' own times) belongs to a process that
 * died and is ignored, and a holder that could not renew in time refuses to finish.
 */
public final class StoreLocks {
    public static final Duration HEARTBEAT = Duration.ofSeconds(30);
    public static final Duration STALE = Duration.ofMinutes(5);
    static final String PUSH = "push-";
    static final String GC = "gc-";

    private StoreLocks() {
    }

    /** A held marker; {@link #close} removes it. */
    public static final class Lock implements AutoCloseable {
        private final ObjectStore objects;
        private final String key;
        private final Thread heartbeat;
        private volatile long renewedNanos = System.nanoTime();
        private volatile IOException renewFailure;

        private final Instant time;

        private Lock(ObjectStore objects, String key, Instant time) {
            this.objects = objects;
            this.key = key;
            this.time = time;
            this.heartbeat = Thread.ofVirtual().name("store-lock-heartbeat").start(this::beat);
        }

        private void beat() {
            try {
                while (true) {
                    Thread.sleep(HEARTBEAT);
                    try {
                        objects.put(key, marker());
                        renewedNanos = System.nanoTime();
                    } catch (IOException e) {
                        renewFailure = e;
                    }
                }
            } catch (InterruptedException stop) {
                // closed
            }
        }

        /** When the marker was first written, by the store's clock. */
        public Instant time() {
            return time;
        }

        /** Throws unless the marker was renewed recently enough that no gc can have taken it for dead. */
        public void checkHeld() throws StoreException {
            if (System.nanoTime() - renewedNanos > STALE.toNanos() / 2) {
                throw new StoreException(objects.describe(key) + ": lock not renewed for over " + STALE.toMinutes() / 2
                        + " minutes, a gc may have run; refusing to finish" + (renewFailure != null ? " (" + renewFailure.getMessage() + ")" : ""));
            }
        }

        @Override
        public void close() throws IOException {
            heartbeat.interrupt();
            try {
                heartbeat.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            objects.delete(key);
        }
    }

    /** Takes a push marker, waiting up to {@code wait} for a running gc to finish. */
    public static Lock push(ObjectStore objects, Duration wait) throws IOException {
        return acquire(objects, PUSH, wait);
    }

    /** Takes the gc marker, waiting up to {@code wait} for running pushes (and any other gc) to finish. */
    public static Lock gc(ObjectStore objects, Duration wait) throws IOException {
        return acquire(objects, GC, wait);
    }

    private static Lock acquire(ObjectStore objects, String kind, Duration wait) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            String key = StoreLayout.LOCKS + kind + UUID.randomUUID();
            objects.put(key, marker());
            ObjectStore.Info mine = objects.head(key);
            Instant now = mine == null ? Instant.now() : mine.lastModified();
            String blocker = blocker(objects, kind, key, now);
            if (blocker == null) {
                return new Lock(objects, key, now);
            }
            objects.delete(key);
            if (System.nanoTime() > deadline) {
                throw new StoreException(objects.location() + ": " + (kind.equals(GC) ? "a push or gc" : "a gc")
                        + " is running (" + blocker + "); try again later");
            }
            try {
                Thread.sleep(200 + ThreadLocalRandom.current().nextInt(800));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreException(objects.location() + ": interrupted while waiting for " + blocker);
            }
        }
    }

    /** A live marker that excludes {@code kind}, or null. */
    private static String blocker(ObjectStore objects, String kind, String mine, Instant now) throws IOException {
        for (ObjectStore.Info other : objects.list(StoreLayout.LOCKS)) {
            String name = other.key().substring(StoreLayout.LOCKS.length());
            boolean excludes = kind.equals(GC) ? !other.key().equals(mine) : name.startsWith(GC);
            if (excludes && Duration.between(other.lastModified(), now).compareTo(STALE) < 0) {
                return other.key();
            }
        }
        return null;
    }

    /** Markers of processes that stopped renewing them; gc deletes them. */
    static boolean isStale(ObjectStore.Info marker, Instant now) {
        return Duration.between(marker.lastModified(), now).compareTo(STALE) >= 0;
    }

    private static byte[] marker() {
        return ("pid " + ProcessHandle.current().pid() + " at " + Instant.now() + "\n").getBytes(StandardCharsets.US_ASCII);
    }
}
