package dev.sabre.e2e;

import dev.sabre.e2e.fleet.S3ProxyProcess;
import dev.sabre.e2e.fleet.ShapedLink;
import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotReader;
import dev.sabre.handler.Strategy;
import dev.sabre.store.PageInput;
import dev.sabre.store.Puller;
import dev.sabre.store.Pusher;
import dev.sabre.store.SnapshotDisk;
import dev.sabre.store.SnapshotStore;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The snapshot store a VM command pushes to and restores from ({@code --store STORE [--endpoint URL]
 * [--link RATE]}): a directory or {@code s3://bucket/prefix} reached the SDK's standard way, or, with a link
 * rate, a private S3 server (S3Proxy over a temporary directory) started for the run behind a shaped link, with
 * STORE naming the bucket and prefix on it. A function's snapshot is stored as {@code FUNCTION-<MiB>M} (its
 * memory and recorded working set, compressed; the VMM's device state stays in the host's snapshot cache), and
 * for REAP also as {@code FUNCTION-<MiB>M.raw} (the same pages uncompressed, {@code store push --raw}). Restores
 * read it through a host cache of their own ({@link #freshCacheRoot}), so each one starts cold. Given the
 * function's root file system image, a push leaves the pages that are blocks of it there (disk frames, STORE.md),
 * and restores and pulls read them from it, as a host that runs the VM holds that image anyway.
 */
public final class StoreTarget implements AutoCloseable {
    private static final String RAW_SUFFIX = ".raw";

    private final String location;
    private final URI endpoint;
    private final Map<String, String> environment;
    private final ShapedLink link;
    private final S3ProxyProcess server;
    private final Path serverDir;
    private final StepLog progress;

    private StoreTarget(String location, URI endpoint, Map<String, String> environment, ShapedLink link,
                        S3ProxyProcess server, Path serverDir, StepLog progress) {
        this.location = location;
        this.endpoint = endpoint;
        this.environment = environment;
        this.link = link;
        this.server = server;
        this.serverDir = serverDir;
        this.progress = progress;
    }

    /**
     * Opens the store at {@code location}; with {@code linkRate} (bits per second, 0 for none) starts S3Proxy
     * behind a shaped link of that rate, which needs an {@code s3://} location and no endpoint.
     */
    public static StoreTarget open(String location, URI endpoint, long linkRate, StepLog progress) {
        if (linkRate <= 0) {
            // Handlers get the caller's own configuration (AWS_* variables are inherited by child processes).
            return new StoreTarget(location, endpoint, Map.of(), null, null, null, progress);
        }
        if (!location.startsWith("s3://") || endpoint != null) {
            throw new VmmException("--link starts its own S3 server behind the link: give an s3://BUCKET[/PREFIX] store and no --endpoint, not "
                    + location + (endpoint != null ? " with --endpoint " + endpoint : ""));
        }
        String rest = location.substring("s3://".length());
        String bucket = rest.contains("/") ? rest.substring(0, rest.indexOf('/')) : rest;
        Path dir = WorkDir.create("sabre-s3");
        ShapedLink link = null;
        S3ProxyProcess server = null;
        try {
            link = ShapedLink.create(linkRate);
            server = S3ProxyProcess.start(dir, bucket, link);
            server.useInThisJvm();
            progress.step("store: " + server + " over " + dir + ", behind " + link);
            return new StoreTarget(location, server.endpoint(), server.clientEnvironment(), link, server, dir, progress);
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            }
            if (link != null) {
                link.close();
            }
            WorkDir.deleteTree(dir);
            throw e;
        }
    }

    /** The name a function's snapshot has in the store: the raw copy for {@code reap}, else the compressed one. */
    public static String name(FunctionSnapshot fs, Strategy strategy) {
        return fs.function() + "-" + (fs.snapshot().memoryBytes() >> 20) + "M" + (strategy == Strategy.REAP ? RAW_SUFFIX : "");
    }

    /** {@code STORE/NAME} of the function's snapshot as {@code strategy} restores it. */
    public String reference(FunctionSnapshot fs, Strategy strategy) {
        return (location.endsWith("/") ? location : location + "/") + name(fs, strategy);
    }

    public String location() {
        return location;
    }

    public URI endpoint() {
        return endpoint;
    }

    /** The link restores cross, or null when the store is reached directly. */
    public ShapedLink link() {
        return link;
    }

    /** The server behind the link (counts its GET requests), or null. */
    public S3ProxyProcess server() {
        return server;
    }

    /**
     * Pushes the snapshot's memory and its working set (when recorded) as {@code as} restores it: uncompressed for
     * {@code reap} (REAP's raw working set and memory), compressed for every other strategy ({@link #name}).
     */
    public Pusher.Result push(FunctionSnapshot fs, Strategy as, Path disk) {
        String reference = reference(fs, as);
        progress.step(fs.function() + ": pushing memory" + (fs.hasWorkingSet() ? " and working set" : "")
                + (as == Strategy.REAP ? " raw" : "") + " to " + reference);
        try (SnapshotStore store = SnapshotStore.open(location, endpoint);
             PageInput in = PageInput.open(fs.snapshot().memoryFile(), false);
             SnapshotDisk image = disk == null ? null : SnapshotDisk.open(disk)) {
            Pusher.Options options = as == Strategy.REAP ? Pusher.Options.defaults().raw() : Pusher.Options.defaults();
            Pusher.Result r = Pusher.push(store, in, fs.hasWorkingSet() ? workingSet(fs) : List.of(), image, name(fs, as),
                    options, Progress.NONE);
            progress.step(String.format(Locale.ROOT, "%s: pushed (%d new pages of %d present%s)", fs.function(),
                    r.newPages(), r.presentPages(), image == null ? "" : ", " + r.pagesOnDisk() + " left on its disk image"));
            return r;
        } catch (IOException e) {
            throw new VmmException("cannot push " + fs.function() + " to " + reference + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the stored memory back into {@code out} (sparse), as a platform without lazy restores downloads it;
     * disk frames come from {@code disk}, the function's root file system image (null when pushed without one).
     */
    public void pull(FunctionSnapshot fs, Path out, Path disk) {
        try (SnapshotStore store = SnapshotStore.open(location, endpoint);
             SnapshotDisk image = disk == null ? null : SnapshotDisk.open(disk)) {
            Puller.pull(store, name(fs, Strategy.FILE), image, out, 8, Progress.NONE);
        } catch (IOException e) {
            throw new VmmException("cannot pull " + reference(fs, Strategy.FILE) + ": " + e.getMessage(), e);
        }
    }

    /** The recorded working set in fault order. */
    public static List<PageRun> workingSet(FunctionSnapshot fs) throws IOException {
        try (SnapshotReader raw = SnapshotReader.open(fs.rawWorkingSet())) {
            return raw.prefetchOrder();
        }
    }

    /**
     * How a handler reaches the store, with its host cache under {@code cacheRoot} and the function's root file
     * system image {@code disk} (null when pushed without one).
     */
    public HandlerProcess.StoreAccess access(Path cacheRoot, Path disk) {
        return new HandlerProcess.StoreAccess(endpoint, environment, cacheRoot, disk);
    }

    /** A new, empty cache root for a handler ({@code ROOT/store} becomes its host cache); the caller removes it. */
    public static Path freshCacheRoot() {
        return WorkDir.create("sabre-host-cache");
    }

    /**
     * Empties the host cache under {@code cacheRoot} (as eviction by another process would), keeping its lock
     * files: the cache keeps no state but its files, so its next lookups fetch again. A handler may still be
     * writing its last session's frames (at the lowest CPU priority, off the restore's path; under load for a
     * second or more), so entries are deleted until the cache has stayed empty for {@link #QUIET_PASSES} passes
     * {@link #PASS_MILLIS} ms apart; its directories stay, so a writer creating an entry meanwhile never meets a
     * directory being removed.
     */
    public static void emptyHostCache(Path cacheRoot) {
        Path dir = cacheRoot.resolve("store");
        if (!Files.isDirectory(dir)) {
            return;
        }
        long deadline = System.nanoTime() + EMPTYING_LIMIT_NANOS;
        try {
            for (int quiet = 0; quiet < QUIET_PASSES; ) {
                quiet = deleteEntries(dir) == 0 ? quiet + 1 : 0;
                if (System.nanoTime() > deadline) {
                    throw new VmmException("cannot empty the host cache " + dir + ": something kept writing to it for "
                            + EMPTYING_LIMIT_NANOS / 1_000_000_000 + " s");
                }
                Thread.sleep(PASS_MILLIS);
            }
        } catch (IOException e) {
            throw new VmmException("cannot empty the host cache " + dir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted while emptying the host cache " + dir, e);
        }
    }

    private static final int QUIET_PASSES = 3;
    private static final long PASS_MILLIS = 50;
    private static final long EMPTYING_LIMIT_NANOS = 30_000_000_000L;

    /** Deletes every file under {@code dir} but the lock files; returns how many it deleted. */
    private static int deleteEntries(Path dir) throws IOException {
        int deleted = 0;
        try (var files = Files.walk(dir)) {
            for (Path p : files.filter(p -> !p.startsWith(dir.resolve("locks")) && !Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                if (Files.deleteIfExists(p)) { // a writer may rename or remove its own temporary file meanwhile
                    deleted++;
                }
            }
        } catch (java.io.UncheckedIOException e) { // a directory vanished under the walk: counted as a change
            return deleted + 1;
        }
        return deleted;
    }

    /** Stops the server and removes the link and the server's directory, when this run started them. */
    @Override
    public void close() {
        try {
            if (server != null) {
                server.close();
            }
        } finally {
            if (link != null) {
                link.close();
            }
            if (serverDir != null) {
                WorkDir.deleteTree(serverDir);
            }
        }
    }
}
