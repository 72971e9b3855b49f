package dev.sabre.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The per-host cache of stored frames, shared by every handler on the host: one file per frame, named
 * by the SHA-256 of its bytes (so every entry is checked on every read, and a damaged one is fetched
 * again), written to a temporary name and renamed, so a crash leaves at most a temporary file that is
 * never read and is cleaned up later. A frame is fetched once per host: threads of one process wait for
 * the one fetching it, other processes wait on a lock file. The directory is private to its owner (0700)
 * and bounded in bytes: least recently used entries (by file time, touched on every hit) are evicted.
 */
public final class HostCache {
    private static final String TEMP_PREFIX = ".tmp-";
    private static final int LOCK_STRIPES = 4096;
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");

    private final Path dir;
    private final long maxBytes;
    private final AtomicLong approximateBytes;
    private final ConcurrentHashMap<String, CompletableFuture<byte[]>> inFlight = new ConcurrentHashMap<>();
    /**
     * One lock per lock file, for the whole JVM: a process may hold a file lock only once, so threads (and
     * caches opened twice in one process) take this first.
     */
    private static final ReentrantLock[] STRIPES = new ReentrantLock[LOCK_STRIPES];

    static {
        for (int i = 0; i < LOCK_STRIPES; i++) {
            STRIPES[i] = new ReentrantLock();
        }
    }

    private final ReentrantLock evicting = new ReentrantLock();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong fetches = new AtomicLong();
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong writeFailures = new AtomicLong();

    /** Loads a frame's stored bytes from the store, already checked against their hash. */
    @FunctionalInterface
    public interface Loader {
        byte[] load() throws IOException;
    }

    private HostCache(Path dir, long maxBytes, long bytes) {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.approximateBytes = new AtomicLong(bytes);
    }

    /** The default cache directory: {@code $SABRE_CACHE/store} (else ~/.cache/sabre/store). */
    public static Path defaultDir() {
        return dev.sabre.format.Datasets.cacheDir().resolve("store");
    }

    /**
     * Opens (creating) the cache in {@code dir}, bounded to {@code maxBytes}. The directory must belong to
     * this user; it is made private (0700) if it is not. Temporary files older than a minute, left by a
     * process that crashed while writing, are removed.
     */
    public static HostCache open(Path dir, long maxBytes) throws IOException {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("cache bound " + maxBytes + " is not positive");
        }
        Path root = dir.toAbsolutePath().normalize();
        Files.createDirectories(root, PosixFilePermissions.asFileAttribute(PRIVATE));
        UserPrincipal owner = Files.getOwner(root);
        UserPrincipal me = root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name"));
        if (!owner.equals(me)) {
            throw new AccessDeniedException(root.toString(), null, "cache directory belongs to " + owner.getName() + ", not " + me.getName());
        }
        if (!Files.getPosixFilePermissions(root).equals(PRIVATE)) {
            Files.setPosixFilePermissions(root, PRIVATE);
        }
        Files.createDirectories(root.resolve("locks"));
        long bytes = 0;
        long staleBefore = System.currentTimeMillis() - 60_000;
        for (Path file : files(root)) {
            try {
                if (file.getFileName().toString().startsWith(TEMP_PREFIX)) {
                    if (Files.getLastModifiedTime(file).toMillis() < staleBefore) {
                        Files.deleteIfExists(file);
                    }
                } else {
                    bytes += Files.size(file);
                }
            } catch (NoSuchFileException gone) {
                // removed by another process meanwhile
            }
        }
        return new HostCache(root, maxBytes, bytes);
    }

    public Path dir() {
        return dir;
    }

    /** Frames served from the cache without fetching. */
    public long hits() {
        return hits.get();
    }

    /** Frames this process fetched from the store. */
    public long fetches() {
        return fetches.get();
    }

    public long fetchedBytes() {
        return fetchedBytes.get();
    }

    /** Entries that could not be written (a full cache disk): their frames were served, not cached. */
    public long writeFailures() {
        return writeFailures.get();
    }

    /**
     * The frame whose stored bytes hash to {@code sha256}: from the cache, or fetched through {@code loader}
     * by exactly one thread of one process on this host while the others wait for it.
     */
    public byte[] get(byte[] sha256, Loader loader) throws IOException {
        String hex = HexFormat.of().formatHex(sha256);
        byte[] cached = read(hex, sha256);
        if (cached != null) {
            hits.incrementAndGet();
            return cached;
        }
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = inFlight.putIfAbsent(hex, mine);
        if (running != null) {
            return Futures.get(running);
        }
        try {
            byte[] bytes = fetchOnce(hex, sha256, loader);
            mine.complete(bytes);
            return bytes;
        } catch (Throwable e) {
            mine.completeExceptionally(e); // waiters see the same failure
            throw e;
        } finally {
            inFlight.remove(hex, mine);
        }
    }

    /**
     * Adds bytes already checked against {@code sha256} (e.g. the other frames of a ranged fetch), unless
     * present; a failed write (a full disk) only means they are not cached.
     */
    public void put(byte[] sha256, byte[] bytes, int offset, int length) {
        String hex = HexFormat.of().formatHex(sha256);
        if (!Files.exists(entry(hex))) {
            try {
                write(hex, bytes, offset, length);
            } catch (IOException e) {
                writeFailures.incrementAndGet();
            }
        }
    }

    /** Frame {@code sha256}'s bytes if the cache holds them intact (checked, touched for LRU), else null. */
    public byte[] find(byte[] sha256) throws IOException {
        byte[] cached = read(HexFormat.of().formatHex(sha256), sha256);
        if (cached != null) {
            hits.incrementAndGet();
        }
        return cached;
    }

    /** Work done while holding a cache lock. */
    @FunctionalInterface
    public interface Locked<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code work} holding the host-wide lock that guards fetching frame {@code sha256} (a thread lock in this
     * process, a file lock across processes): whoever fetches a range under its first frame's lock and caches it
     * before returning makes every other process on the host wait for it, then find it cached. {@code work} must
     * take no other cache lock (it may {@link #put}).
     */
    public <T> T locked(byte[] sha256, Locked<T> work) throws IOException {
        String hex = HexFormat.of().formatHex(sha256);
        ReentrantLock local = STRIPES[Integer.parseInt(hex.substring(0, 3), 16)];
        local.lock();
        try (FileChannel lockFile = FileChannel.open(dir.resolve("locks").resolve(hex.substring(0, 3)),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockWaiting(lockFile)) {
            return work.run();
        } finally {
            local.unlock();
        }
    }

    /** Counts a frame fetched from the store by this process outside {@link #get} (a streamed range). */
    public void countFetched(long bytes) {
        fetches.incrementAndGet();
        fetchedBytes.addAndGet(bytes);
    }

    /** Whether the cache holds frame {@code sha256} (not checked; {@link #get} checks). */
    public boolean contains(byte[] sha256) {
        return Files.exists(entry(HexFormat.of().formatHex(sha256)));
    }

    /**
     * Claims frame {@code sha256} for a fetch the caller makes outside {@link #get} (a streamed range): null when the
     * frame is cached or already on its way into this process, else a future the caller must complete (with the
     * checked bytes or the failure) and then {@link #release}. Until then {@link #get} and {@link #arriving} hand that
     * future to everyone in this process who needs the frame, whichever snapshot they restore, so none fetches it again.
     */
    public CompletableFuture<byte[]> claim(byte[] sha256) {
        String hex = HexFormat.of().formatHex(sha256);
        if (Files.exists(entry(hex))) {
            return null;
        }
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        return inFlight.putIfAbsent(hex, mine) == null ? mine : null;
    }

    /** Ends a {@link #claim}, once its frame is cached (or its fetch failed). */
    public void release(byte[] sha256, CompletableFuture<byte[]> claim) {
        inFlight.remove(HexFormat.of().formatHex(sha256), claim);
    }

    /** The fetch of frame {@code sha256} under way in this process ({@link #get} or a {@link #claim}), or null. */
    public CompletableFuture<byte[]> arriving(byte[] sha256) {
        return inFlight.get(HexFormat.of().formatHex(sha256));
    }

    private byte[] fetchOnce(String hex, byte[] sha256, Loader loader) throws IOException {
        return locked(sha256, () -> {
            byte[] cached = read(hex, sha256); // another process may have fetched it while we waited
            if (cached != null) {
                hits.incrementAndGet();
                return cached;
            }
            byte[] bytes = loader.load();
            countFetched(bytes.length);
            try {
                write(hex, bytes, 0, bytes.length);
            } catch (IOException e) {
                writeFailures.incrementAndGet(); // a full or broken cache disk must not fail the restore
            }
            return bytes;
        });
    }

    /**
     * Takes {@code lockFile}'s lock, waiting for it. fcntl locks belong to a process, not a thread, so the kernel
     * reports a deadlock (EDEADLK) when two processes' threads each hold one lock and wait for the other's, even
     * though the holders will let go. Here no thread ever holds two cache locks, so that is never a real deadlock:
     * wait a little and ask again.
     */
    static FileLock lockWaiting(FileChannel lockFile) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return lockFile.lock();
            } catch (IOException e) {
                if (!"Resource deadlock avoided".equals(e.getMessage())) {
                    throw e;
                }
                try {
                    Thread.sleep(Math.min(attempt, 20));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for a cache lock");
                }
            }
        }
    }

    private Path entry(String hex) {
        return dir.resolve(hex.substring(0, 2)).resolve(hex);
    }

    /** The entry's bytes if present and intact (touched for LRU), else null; a damaged entry is removed. */
    private byte[] read(String hex, byte[] sha256) throws IOException {
        Path file = entry(hex);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (!java.security.MessageDigest.isEqual(Hashes.sha256(bytes), sha256)) {
            Files.deleteIfExists(file); // torn or damaged: fetch again
            return null;
        }
        try {
            Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (NoSuchFileException evictedMeanwhile) {
            // still a correct read
        }
        return bytes;
    }

    private void write(String hex, byte[] bytes, int offset, int length) throws IOException {
        Path target = entry(hex);
        Files.createDirectories(target.getParent());
        Path temp = target.resolveSibling(TEMP_PREFIX + hex + "-" + UUID.randomUUID());
        try {
            // No fsync: an entry torn by a power loss fails its hash check and is fetched again.
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(bytes, offset, length);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw new IOException(dir + ": cannot write cache entry " + hex + ": " + e.getMessage(), e);
        }
        if (approximateBytes.addAndGet(length) > maxBytes) {
            evict();
        }
    }

    /** Removes least recently used entries until the cache holds at most 90 % of its bound. */
    private void evict() throws IOException {
        if (!evicting.tryLock()) {
            return;
        }
        try {
            record Entry(Path file, long size, long time) {
            }
            List<Entry> entries = new ArrayList<>();
            long total = 0;
            for (Path file : files(dir)) {
                if (file.getFileName().toString().startsWith(TEMP_PREFIX)) {
                    continue;
                }
                try {
                    long size = Files.size(file);
                    entries.add(new Entry(file, size, Files.getLastModifiedTime(file).toMillis()));
                    total += size;
                } catch (NoSuchFileException gone) {
                    // evicted by another process
                }
            }
            entries.sort(Comparator.comparingLong(Entry::time));
            long target = maxBytes / 10 * 9;
            for (Entry e : entries) {
                if (total <= target) {
                    break;
                }
                Files.deleteIfExists(e.file());
                total -= e.size();
            }
            approximateBytes.set(total);
        } finally {
            evicting.unlock();
        }
    }

    /** Every file in the two-level entry directories (not the lock files). */
    private static List<Path> files(Path root) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> top = Files.newDirectoryStream(root, p -> p.getFileName().toString().length() == 2)) {
            for (Path sub : top) {
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(sub)) {
                    entries.forEach(found::add);
                } catch (NoSuchFileException gone) {
                    // removed meanwhile
                }
            }
        }
        return found;
    }
}
