package dev.sabre.bench.store;

import dev.sabre.e2e.FunctionSnapshot;
import dev.sabre.e2e.HandlerProcess;
import dev.sabre.e2e.HandlerWarmUp;
import dev.sabre.e2e.StoreTarget;
import dev.sabre.e2e.fleet.Rates;
import dev.sabre.e2e.fleet.S3ProxyProcess;
import dev.sabre.e2e.fleet.ShapedLink;
import dev.sabre.e2e.fleet.VmmDriverProcess;
import dev.sabre.handler.Strategy;
import dev.sabre.linux.Memory;
import dev.sabre.linux.Processes;
import dev.sabre.store.SnapshotStore;
import dev.sabre.store.StoreMaintenance;
import dev.sabre.store.StoreTrace;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The fleet benchmark ({@code sabre bench store}): function snapshots in a store on a real S3 server (S3Proxy
 * as its own process) behind a link of a set bandwidth (a network namespace, a veth pair, {@code tc tbf}), and
 * restores from it through the real page-fault handler (its own process, a cold host cache for each restore)
 * to the VMM-side test driver (its own process too, {@link VmmDriverProcess}), which replays the function's recorded working set in
 * fault order on one vCPU thread and checks every byte. Against baselines measured in the same run over the
 * same link: downloading the memory file and then letting the VMM map it ({@code file}), and the same
 * reap-compressed restore from the local disk. Bytes are counted on the link, requests by the server.
 */
public final class StoreBench {
    /** Where a bench store keeps its snapshots in the bucket, and where downloads keep raw memory files. */
    private static final String STORE_PREFIX = "fleet";
    private static final String DOWNLOADS = "downloads/";
    private static final String BUCKET = "sabre-bench";
    /** Raw memory files are downloaded as a platform without lazy loading would: 8 MiB ranges, 8 at once. */
    private static final int DOWNLOAD_RANGE = 8 << 20;
    private static final int DOWNLOAD_PARALLEL = 8;
    /** The rate the snapshots are pushed at, before the measured rates. */
    private static final long PUSH_RATE = 10_000_000_000L;
    private static final Duration REPORT_TIMEOUT = Duration.ofSeconds(60);
    /** Pages a warm-up session touches outside the working set (as e2e's {@link HandlerWarmUp}). */
    private static final int WARM_UP_PAGES = 256;
    /**
     * Warm-up sessions before each measured restore. A handler in service has restored many VMMs, so its JIT has
     * compiled the whole store path (the S3 client, streaming, hashing, decoding, installing), and a production S3
     * server is warm too; after one session most of that code still runs interpreted, which in traces cost 5-8 ms
     * per request before its first byte. Every variant gets the same sessions.
     */
    private static final int WARM_UP_SESSIONS = 5;

    /** What one restore fetched and how long its phases took; -1 where a phase does not apply. */
    public record Row(String function, String rate, String variant, int repetition, long linkBytes, long requests,
                      long prefetchUs, long restoreUs, long coldStartUs, long faults, long serverCpuUs) {
        long totalUs() {
            return restoreUs + coldStartUs;
        }

        static String csvHeader() {
            return "function,rate,variant,repetition,link_bytes,requests,prefetch_us,restore_us,cold_start_us,total_us,faults,server_cpu_us";
        }

        String csv() {
            return String.join(",", function, rate, variant, Integer.toString(repetition), Long.toString(linkBytes),
                    Long.toString(requests), Long.toString(prefetchUs), Long.toString(restoreUs), Long.toString(coldStartUs),
                    Long.toString(totalUs()), Long.toString(faults), Long.toString(serverCpuUs));
        }
    }

    /** A line of the cache checks: what a restore fetched over the link, and how that compares with a cold one. */
    public record CacheCheck(String function, String what, long linkBytes, long requests, long coldLinkBytes, long coldRequests) {
    }

    /** Bytes the store takes for every snapshot pushed, with working sets, against their summed memory. */
    public record SizeResult(int snapshots, long memoryBytes, long storedBytes, long aloneBytes) {
    }

    public record Result(List<Row> rows, List<CacheCheck> cacheChecks, SizeResult size) {
    }

    /**
     * @param snapshots   function snapshots with recorded working sets (e2e's cache)
     * @param rates       link rates in bits per second, in order
     * @param repetitions restores per variant and rate (rounds: each round runs every variant once)
     */
    public record Config(List<FunctionSnapshot> snapshots, List<Long> rates, int repetitions) {
    }

    /** The restores compared. */
    enum Variant {
        DOWNLOAD_FILE("download+file"),
        PULL_FILE("pull+file"),
        LAZY_STORE("lazy store"),
        REAP_RAW_STORE("reap (raw) store"),
        REAP_COMPRESSED_STORE("reap-compressed store"),
        REAP_COMPRESSED_LOCAL("reap-compressed local");

        final String label;

        Variant(String label) {
            this.label = label;
        }
    }

    private final Config config;
    private final Path work;
    private final PrintStream progress;
    private final java.util.function.Consumer<Row> measured;

    /** @param measured receives each row as soon as it is measured (e.g. a CSV written as the run goes) */
    public StoreBench(Config config, Path work, PrintStream progress, java.util.function.Consumer<Row> measured) {
        this.config = config;
        this.work = work;
        this.progress = progress;
        this.measured = measured;
    }

    public Result run() throws Exception {
        List<Row> rows = new ArrayList<>();
        List<CacheCheck> checks = new ArrayList<>();
        SizeResult size;
        try (StoreTarget target = StoreTarget.open("s3://" + BUCKET + "/" + STORE_PREFIX, null, PUSH_RATE,
                line -> progress.println("bench store: " + line))) {
            // The compressed snapshots first, alone in the store for the size target; then REAP's raw copies.
            for (FunctionSnapshot fs : config.snapshots()) {
                target.push(fs, Strategy.REAP_COMPRESSED, null);
            }
            try (SnapshotStore store = SnapshotStore.open(target.location(), target.endpoint())) {
                var usage = StoreMaintenance.usage(store);
                size = new SizeResult(config.snapshots().size(), usage.memoryBytes(), usage.storedBytes(), usage.aloneBytes());
            }
            for (FunctionSnapshot fs : config.snapshots()) {
                target.push(fs, Strategy.REAP, null);
                upload(target.server(), fs);
            }
            ShapedLink link = target.link();
            for (long rate : config.rates()) {
                link.setRate(rate);
                progress.println("bench store: " + link);
                for (FunctionSnapshot fs : config.snapshots()) {
                    Subject subject = new Subject(fs, target);
                    for (int rep = 1; rep <= config.repetitions(); rep++) {
                        Variant[] variants = Variant.values();
                        for (int k = 0; k < variants.length; k++) {
                            // Each round starts one variant further along, so drift falls on all alike.
                            Variant v = variants[(rep - 1 + k) % variants.length];
                            Row row;
                            try {
                                row = subject.measure(v, rep);
                            } catch (VmmException | IOException e) {
                                // e.g. a handler that killed its VMM (the driver's process): this restore failed, not the run
                                progress.printf(Locale.ROOT, "%s %s %-22s %d/%d: FAILED: %s%n", fs.function(), Rates.format(rate),
                                        v.label, rep, config.repetitions(), e.getMessage());
                                continue;
                            }
                            rows.add(row);
                            measured.accept(row);
                            progress.printf(Locale.ROOT, "%s %s %-22s %d/%d: %s over the link, %d requests, restore %.1f ms, "
                                            + "cold start %.1f ms%n", fs.function(), Rates.format(rate), v.label, rep,
                                    config.repetitions(), mib(row.linkBytes()), row.requests(), row.restoreUs() / 1e3,
                                    row.coldStartUs() / 1e3);
                        }
                    }
                    if (rate == config.rates().getFirst()) {
                        checks.addAll(subject.cacheChecks());
                    }
                }
            }
        }
        return new Result(rows, checks, size);
    }

    /** Uploads the raw memory file as one object, for the download baseline. */
    private void upload(S3ProxyProcess server, FunctionSnapshot fs) throws IOException {
        progress.println("bench store: uploading " + fs.function() + "'s raw memory file for the download baseline");
        try (SnapshotStore bucket = SnapshotStore.open(server.location(""), server.endpoint())) {
            bucket.objects().put(DOWNLOADS + fs.function() + ".mem", Files.readAllBytes(fs.snapshot().memoryFile()));
        }
    }

    /** One function's snapshot on one link: runs each variant's restore and counts what crossed the link. */
    private final class Subject {
        private final FunctionSnapshot fs;
        private final StoreTarget target;
        private final S3ProxyProcess server;
        private final ShapedLink link;
        private final long[] touched;
        private final long[] warmUpPages;

        Subject(FunctionSnapshot fs, StoreTarget target) {
            this.fs = fs;
            this.target = target;
            this.server = target.server();
            this.link = target.link();
            this.touched = HandlerWarmUp.workingSetPages(fs);
            this.warmUpPages = HandlerWarmUp.pages(fs.snapshot().memoryFile(), touched, WARM_UP_PAGES);
        }

        Row measure(Variant v, int rep) throws Exception {
            Timing t = switch (v) {
                case DOWNLOAD_FILE -> downloadThenFile(false);
                case PULL_FILE -> downloadThenFile(true);
                case LAZY_STORE -> coldFromStore(Strategy.LAZY);
                case REAP_RAW_STORE -> coldFromStore(Strategy.REAP);
                case REAP_COMPRESSED_STORE -> coldFromStore(Strategy.REAP_COMPRESSED);
                case REAP_COMPRESSED_LOCAL -> served(Strategy.REAP_COMPRESSED, false, null, false);
            };
            return new Row(fs.function(), Rates.format(link.rateBitsPerSecond()), v.label, rep, t.traffic.linkBytes(),
                    t.traffic.requests(), t.prefetchUs, t.restoreUs, t.coldStartUs, t.faults, t.traffic.serverCpuUs());
        }

        /** Starts counting what crosses the link, and the CPU time the server spends meanwhile. */
        private Traffic.Start count() throws InterruptedException {
            return new Traffic.Start(link.receivedBytes(), server.settledGets(), Processes.cpuNanos(server.pid()));
        }

        private Traffic since(Traffic.Start start) throws InterruptedException {
            long cpu = Processes.cpuNanos(server.pid());
            return new Traffic(link.receivedBytes() - start.linkBytes(), server.settledGets() - start.requests(),
                    cpu < 0 || start.serverCpuNanos() < 0 ? -1 : (cpu - start.serverCpuNanos()) / 1000);
        }

        private Path freshCache() throws IOException {
            return Files.createTempDirectory(work, "host-cache-");
        }

        /** A restore from the store through a host cache of its own, empty before and removed after. */
        private Timing coldFromStore(Strategy strategy) throws Exception {
            Path cache = freshCache();
            try {
                return served(strategy, true, cache, true);
            } finally {
                WorkDir.deleteTree(cache);
            }
        }

        /**
         * A platform without lazy loading: fetch the whole memory file (the raw object in 8 MiB ranges, or
         * {@code pull} from the store), then the VMM maps it and the function touches its working set.
         */
        private Timing downloadThenFile(boolean pull) throws Exception {
            Path file = work.resolve(fs.function() + ".downloaded.mem");
            Traffic.Start counting = count();
            long start = System.nanoTime();
            if (pull) {
                target.pull(fs, file, null);
            } else {
                download(DOWNLOADS + fs.function() + ".mem", file);
            }
            long fetched = System.nanoTime();
            try (Arena arena = Arena.ofShared();
                 FileChannel mapped = FileChannel.open(file, StandardOpenOption.READ);
                 FileChannel source = FileChannel.open(fs.snapshot().memoryFile(), StandardOpenOption.READ)) {
                MemorySegment guest = mapped.map(FileChannel.MapMode.READ_ONLY, 0, mapped.size(), arena);
                MemorySegment expected = source.map(FileChannel.MapMode.READ_ONLY, 0, source.size(), arena);
                long resumed = System.nanoTime();
                long pageSize = Memory.pageSize();
                for (long page : touched) {
                    if (Memory.compare(guest.asSlice(page * pageSize, pageSize), expected.asSlice(page * pageSize, pageSize)) != 0) {
                        throw new IOException(file + ": page " + page + " differs from " + fs.snapshot().memoryFile());
                    }
                }
                long done = System.nanoTime();
                return new Timing((fetched - start) / 1000, (resumed - start) / 1000, (done - resumed) / 1000, -1,
                        since(counting));
            } finally {
                Files.deleteIfExists(file);
            }
        }

        private void download(String key, Path out) throws Exception {
            long size = Files.size(fs.snapshot().memoryFile());
            try (SnapshotStore bucket = SnapshotStore.open(server.location(""), server.endpoint());
                 FileChannel channel = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                         StandardOpenOption.WRITE);
                 ExecutorService pool = Executors.newFixedThreadPool(DOWNLOAD_PARALLEL)) {
                List<Future<?>> parts = new ArrayList<>();
                for (long offset = 0; offset < size; offset += DOWNLOAD_RANGE) {
                    long at = offset;
                    int length = (int) Math.min(DOWNLOAD_RANGE, size - offset);
                    parts.add(pool.submit(() -> {
                        byte[] data = bucket.objects().getRange(key, at, length);
                        channel.write(java.nio.ByteBuffer.wrap(data), at);
                        return null;
                    }));
                }
                for (Future<?> part : parts) {
                    part.get();
                }
            }
        }

        /**
         * The handler (its own process) serving the snapshot from the store through the host cache at
         * {@code cacheRoot}, or from the local disk (raw memory file and compressed working set, read with
         * O_DIRECT as e2e does); after its warm-up session, the host cache is emptied when {@code coldCache};
         * then the simulated VMM connects and touches the working set.
         */
        private Timing served(Strategy strategy, boolean fromStore, Path cacheRoot, boolean coldCache) throws Exception {
            HandlerProcess handler = fromStore
                    ? HandlerProcess.start(target.reference(fs, strategy), strategy, null, false, false, 0, target.access(cacheRoot, null))
                    : HandlerProcess.start(fs.snapshot().memoryFile(), strategy,
                            strategy == Strategy.REAP_COMPRESSED ? fs.compressedWorkingSet() : null, false, true, 0);
            try (VmmDriverProcess vmm = VmmDriverProcess.start(fs.snapshot().memoryFile())) {
                warmUp(handler, vmm, coldCache ? cacheRoot : null);
                if (coldCache) {
                    StoreTarget.emptyHostCache(cacheRoot);
                }
                return replay(handler, vmm);
            } finally {
                handler.close();
            }
        }

        /**
         * {@link #WARM_UP_SESSIONS} warm-up sessions (as {@link HandlerWarmUp}): pages outside the working set (and, for
         * the reap strategies, the working set's prefetch), so the handler meets the measured restore warm (JIT, store
         * connections, server), while the working set's frames can still be made uncached. With {@code emptyBefore}
         * (a host cache's root, or null), each session starts from an empty host cache, so each fetches over the link
         * as the measured restore will.
         */
        private void warmUp(HandlerProcess handler, VmmDriverProcess vmm, Path emptyBefore) throws IOException {
            for (int i = 0; i < WARM_UP_SESSIONS; i++) {
                if (emptyBefore != null) {
                    StoreTarget.emptyHostCache(emptyBefore);
                }
                vmm.restore(handler.socket(), warmUpPages, REPORT_TIMEOUT);
                if (handler.nextSession(REPORT_TIMEOUT) == null) {
                    throw new IOException(handler + " sent no report of its warm-up session within " + REPORT_TIMEOUT.toSeconds() + " s");
                }
            }
        }

        /**
         * One VMM restored through {@code handler} by the driver in its own process: connect, touch the working set
         * in fault order, disconnect. A handler that kills its VMM kills that process, and this restore fails.
         */
        private Timing replay(HandlerProcess handler, VmmDriverProcess vmm) throws Exception {
            Traffic.Start counting = count();
            StoreTrace.event("vmm %d connects to %s", vmm.pid(), handler);
            VmmDriverProcess.Restore r;
            try {
                r = vmm.restore(handler.socket(), touched, REPORT_TIMEOUT);
            } catch (VmmException e) {
                throw new IOException(fs.function() + " through " + handler + ": " + e.getMessage()
                        + (handler.isAlive() ? "" : "; " + handler.describeDeath()), e);
            }
            StoreTrace.event("vmm %d touched its working set: first answer after %.2f ms", vmm.pid(), (r.resumeNanos() + r.touchNanos()) / 1e6);
            HandlerProcess.SessionStats stats = handler.nextSession(REPORT_TIMEOUT);
            if (stats == null) {
                throw new IOException(handler + " sent no session report within " + REPORT_TIMEOUT.toSeconds() + " s");
            }
            // Prefetch from the VMM's connect: the handshake, then the handler's prefetch (which a store restore
            // starts fetching for at the connect already), so time spent before the session began is not hidden.
            long prefetchUs = stats.restoreMicros() < 0 ? -1 : r.resumeNanos() / 1000 + stats.restoreMicros();
            return new Timing(prefetchUs, r.resumeNanos() / 1000, r.touchNanos() / 1000, stats.faults(), since(counting));
        }

        /**
         * The cache target: a second restore through the cache the first one filled, and two restores at once
         * through one cold cache (two handler processes, two VMMs), against one cold restore.
         */
        List<CacheCheck> cacheChecks() throws Exception {
            List<CacheCheck> checks = new ArrayList<>();
            for (Strategy strategy : List.of(Strategy.REAP_COMPRESSED, Strategy.LAZY)) {
                Path cache = freshCache();
                try {
                    Traffic cold = served(strategy, true, cache, true).traffic;
                    Traffic again = served(strategy, true, cache, false).traffic;
                    checks.add(new CacheCheck(fs.function(), strategy.label() + ": second restore, same host", again.linkBytes(),
                            again.requests(), cold.linkBytes(), cold.requests()));
                    Traffic twice = twoAtOnce(strategy);
                    checks.add(new CacheCheck(fs.function(), strategy.label() + ": two restores at once", twice.linkBytes(),
                            twice.requests(), cold.linkBytes(), cold.requests()));
                } finally {
                    WorkDir.deleteTree(cache);
                }
            }
            return checks;
        }

        /** Two handlers on one cold host cache, each restoring a VMM at the same time: what both fetched together. */
        private Traffic twoAtOnce(Strategy strategy) throws Exception {
            Path cache = freshCache();
            var access = target.access(cache, null);
            String reference = target.reference(fs, strategy);
            try (HandlerProcess first = HandlerProcess.start(reference, strategy, null, false, false, 0, access);
                 HandlerProcess second = HandlerProcess.start(reference, strategy, null, false, false, 0, access);
                 VmmDriverProcess vmm1 = VmmDriverProcess.start(fs.snapshot().memoryFile());
                 VmmDriverProcess vmm2 = VmmDriverProcess.start(fs.snapshot().memoryFile());
                 ExecutorService pool = Executors.newFixedThreadPool(2)) {
                warmUp(first, vmm1, cache);
                warmUp(second, vmm2, cache);
                StoreTarget.emptyHostCache(cache);
                Traffic.Start counting = count();
                Future<Timing> a = pool.submit(() -> replay(first, vmm1));
                Future<Timing> b = pool.submit(() -> replay(second, vmm2));
                a.get();
                b.get();
                return since(counting);
            } finally {
                WorkDir.deleteTree(cache);
            }
        }

    }

    /**
     * Microseconds: the handler's prefetch (or the download), the restore until the VM runs, the first invocation;
     * the handler's faults, and what crossed the link meanwhile.
     */
    private record Timing(long prefetchUs, long restoreUs, long coldStartUs, long faults, Traffic traffic) {
    }

    /**
     * Bytes the host received over the link, GET requests the server answered, and the CPU time the server ran
     * meanwhile (-1 if unknown): here S3Proxy shares the host's cores with the restore it serves, which a remote
     * object store does not.
     */
    private record Traffic(long linkBytes, long requests, long serverCpuUs) {
        record Start(long linkBytes, long requests, long serverCpuNanos) {
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
