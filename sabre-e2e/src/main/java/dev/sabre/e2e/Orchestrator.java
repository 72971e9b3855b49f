package dev.sabre.e2e;

import dev.sabre.codec.CodecId;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import dev.sabre.format.PageRun;
import dev.sabre.format.SnapshotReader;
import dev.sabre.handler.Strategy;
import dev.sabre.linux.HugePages;
import dev.sabre.linux.SparseFile;
import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.Invocation;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Restored;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmDriver;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.image.ImageBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The orchestration behind {@code sabre vm} and {@code sabre e2e}, on any {@link VmmDriver}: build a
 * function's images, run it, snapshot it into the cache (and pack the memory into a compressed .sabre),
 * record its working set on a first invocation after a restore (raw and compressed), and restore it with a
 * strategy through a page-fault handler process, measuring one cold start. Every VM and handler it starts
 * is stopped before it returns or throws; a handler that dies takes its VM down with it.
 */
public final class Orchestrator {
    /** Frames of the compressed whole memory: 64 KiB, so a lazy fault decodes little. */
    private static final int FRAME_PAGES = 16;
    /** zstd level of the whole memory: 3, quick to pack hundreds of MiB. */
    private static final int SNAPSHOT_LEVEL = 3;
    private static final int PAGE_SIZE = 4096;
    private static final Duration REPORT_TIMEOUT = Duration.ofSeconds(30);

    private final VmmDriver driver;
    private final ImageBuilder images;
    private final VmSettings settings;
    private final StepLog progress;
    private final Path snapshotRoot;
    private final int handlerThreads;
    private final Map<String, VmSpec> specs;

    /** Snapshots go to {@code snapshots/} in the image cache. */
    public Orchestrator(VmmDriver driver, ImageBuilder images, VmSettings settings, StepLog progress) {
        this(driver, images, settings, progress, images.cache().root().resolve("snapshots"));
    }

    /** Snapshots go to {@code snapshotRoot} (tests keep theirs apart from the user's). */
    public Orchestrator(VmmDriver driver, ImageBuilder images, VmSettings settings, StepLog progress, Path snapshotRoot) {
        this(driver, images, settings, progress, snapshotRoot, 0, new HashMap<>());
    }

    private Orchestrator(VmmDriver driver, ImageBuilder images, VmSettings settings, StepLog progress, Path snapshotRoot,
                         int handlerThreads, Map<String, VmSpec> specs) {
        this.driver = driver;
        this.images = images;
        this.settings = settings;
        this.progress = progress;
        this.snapshotRoot = snapshotRoot;
        this.handlerThreads = handlerThreads;
        this.specs = specs;
    }

    /**
     * The same orchestrator with handlers whose prefetches and eager restores compute on {@code threads} cores
     * (0: the handler's default, all of them; reads with O_DIRECT wait on as many more threads). On a small
     * host the VMM needs a core of its own while the prefetch runs.
     */
    public Orchestrator withHandlerThreads(int threads) {
        if (threads < 0 || threads > 256) {
            throw new VmmException("handler threads must be between 0 (default) and 256, not " + threads);
        }
        return new Orchestrator(driver, images, settings, progress, snapshotRoot, threads, specs);
    }

    public VmmDriver driver() {
        return driver;
    }

    public ImageBuilder images() {
        return images;
    }

    /** Fails with the list of known functions unless {@code function} is one. */
    public void checkFunction(String function) {
        images.catalog().get(function);
    }

    /** Builds (or finds in the cache) the function's guest images. */
    public GuestImage build(String function) {
        return spec(function).image();
    }

    /** The VM spec of the function (its images built once per orchestrator). */
    public synchronized VmSpec spec(String function) {
        VmSpec spec = specs.get(function);
        if (spec == null) {
            spec = settings.spec(images.build(function));
            specs.put(function, spec);
        }
        return spec;
    }

    /** Boots the function, invokes it once and stops it. */
    public Invocation run(String function, String input) {
        VmSpec spec = spec(function);
        try (Vm vm = driver.boot(spec)) {
            return driver.invoke(vm, input);
        }
    }

    /** Where the cache keeps this function's snapshot for this VMM and memory size. */
    public Path snapshotDir(String function) {
        return snapshotRoot.resolve(driver.name())
                .resolve(function + "-" + settings.memoryMiB() + "M");
    }

    /** The function's snapshot in the cache; a clear error if there is none. */
    public FunctionSnapshot cached(String function) {
        checkFunction(function);
        Path dir = snapshotDir(function);
        if (!Files.isDirectory(dir)) {
            throw new VmmException("no " + driver.name() + " snapshot of " + function + " with " + settings.memoryMiB()
                    + " MiB in the cache; take one with 'sabre vm snapshot " + function + "'");
        }
        return FunctionSnapshot.load(dir);
    }

    /**
     * Boots the function, waits until it answers, invokes it twice (the first warms it up as vHive does, the
     * second says whether its reply is deterministic), snapshots it into the cache, replacing any older
     * snapshot, and packs its memory into a compressed .sabre next to it.
     */
    public FunctionSnapshot snapshot(String function, String input) {
        VmSpec spec = spec(function);
        Path dir = snapshotDir(function);
        Path tmp = dir.resolveSibling("." + dir.getFileName() + ".tmp");
        try {
            Files.createDirectories(dir.getParent());
            WorkDir.deleteTree(tmp);
            Files.createDirectories(tmp);
            progress.step(function + ": booting (" + driver.name() + ", " + settings.memoryMiB() + " MiB)");
            String first, second;
            try (Vm vm = driver.boot(spec)) {
                first = driver.invoke(vm, input).reply();
                second = driver.invoke(vm, input).reply();
                driver.snapshot(vm, tmp);
            }
            FunctionSnapshot fs = new FunctionSnapshot(tmp, Snapshot.load(tmp), input, first, first.equals(second));
            fs.checkReply(function + " before its snapshot", second);
            progress.step(function + ": snapshot taken; packing its memory into " + fs.sabreFile().getFileName());
            pack(fs.snapshot().memoryFile(), fs.sabreFile(), PackOptions.defaults().withCodec(CodecId.ZSTD, SNAPSHOT_LEVEL)
                    .withPolicy(PackPolicy.FIXED, FRAME_PAGES));
            fs.save();
            WorkDir.deleteTree(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            return FunctionSnapshot.load(dir);
        } catch (IOException e) {
            throw new VmmException("cannot write the snapshot of " + function + " to " + dir + ": " + e.getMessage(), e);
        } finally {
            WorkDir.deleteTree(tmp);
        }
    }

    /**
     * Records the working set as REAP does: restores the snapshot with {@code reap-record}, invokes the function
     * once, and has the handler write the pages faulted on so far (STOP_RECORD) as the raw working set; then
     * packs the same pages, in the same order, compressed.
     */
    public FunctionSnapshot recordWorkingSet(FunctionSnapshot fs) {
        Path recorded = fs.dir().resolve("ws.recording.sabre");
        try (HandlerProcess handler = HandlerProcess.start(fs.snapshot().memoryFile(), Strategy.REAP_RECORD, recorded,
                true, false, 0)) {
            VmSpec spec = spec(fs.function());
            Instant since = Instant.now();
            handler.onDeath(() -> killVmms(since));
            try {
                Restored restored = driver.restore(spec, fs.snapshot(), MemoryBackend.uffd(handler.socket()));
                try (Vm vm = restored.vm()) {
                    Invocation first = driver.invoke(vm, fs.input());
                    fs.checkReply(fs.function() + " restored with reap-record", first.reply());
                    Path written = handler.stopRecording();
                    Files.move(written, fs.rawWorkingSet(), StandardCopyOption.REPLACE_EXISTING);
                }
            } catch (VmmException e) {
                throw handlerDeath(handler, fs, e);
            } finally {
                handler.onDeath(null);
            }
            List<PageRun> order;
            try (SnapshotReader raw = SnapshotReader.open(fs.rawWorkingSet())) {
                order = raw.prefetchOrder();
            }
            pack(fs.snapshot().memoryFile(), fs.compressedWorkingSet(), PackOptions.workingSet(order, CodecId.ZSTD, 0));
            progress.step(String.format("%s: working set of %d pages: %.1f MiB raw, %.1f MiB compressed", fs.function(),
                    order.stream().mapToLong(PageRun::pageCount).sum(), FunctionSnapshot.size(fs.rawWorkingSet()) / 1048576.0,
                    FunctionSnapshot.size(fs.compressedWorkingSet()) / 1048576.0));
            return fs;
        } catch (IOException e) {
            throw new VmmException("cannot write the working set of " + fs.function() + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(recorded);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    /** Packs the memory file into a .sabre, written under a temporary name, then renamed. */
    static void pack(Path memory, Path out, PackOptions options) throws IOException {
        List<long[]> extents = SparseFile.dataExtents(memory).stream().map(e -> new long[] {e.offset(), e.length()}).toList();
        Path tmp = out.resolveSibling("." + out.getFileName() + ".tmp");
        try (MemoryImage image = MemoryImage.open(memory, PAGE_SIZE, extents, true)) {
            Packer.pack(image, tmp, options, null);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Starts the handler a strategy needs (null for {@code file}), serving the snapshot's raw memory file, or its
     * .sabre for {@code sabre}, with the working set for the reap strategies; prefetches read with O_DIRECT.
     */
    public HandlerProcess startHandler(FunctionSnapshot fs, Strategy strategy) {
        if (!strategy.servedByHandler()) {
            return null;
        }
        if (strategy.replaysWorkingSet() && !fs.hasWorkingSet()) {
            throw new VmmException("the snapshot of " + fs.function() + " has no recorded working set; record one first");
        }
        Path memory = strategy == Strategy.SABRE ? fs.sabreFile() : fs.snapshot().memoryFile();
        Path ws = switch (strategy) {
            case REAP -> fs.rawWorkingSet();
            case REAP_COMPRESSED -> fs.compressedWorkingSet();
            default -> null;
        };
        boolean directIo = strategy != Strategy.LAZY && strategy != Strategy.REAP_RECORD;
        return HandlerProcess.start(memory, strategy, ws, false, directIo, handlerThreads);
    }

    /** The host's 2 MiB pages held for the VMs of one function; closing gives them back. */
    public record HugePageReservation(String function, HugePages pages) implements AutoCloseable {
        @Override
        public void close() {
            try {
                pages.close();
            } catch (IOException e) {
                throw new VmmException("cannot give back the " + pages.count() + " huge pages reserved for " + function
                        + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Reserves the host's 2 MiB pages for one VM of {@code function} on huge pages (its guest memory's worth);
     * the caller closes the reservation, which gives them back, also when the restores failed.
     */
    public HugePageReservation reserveHugePages(String function) {
        long pages = spec(function).withHugePages(true).hugePagesNeeded();
        try {
            return new HugePageReservation(function, HugePages.reserve(pages));
        } catch (IOException e) {
            throw new VmmException("cannot reserve " + pages + " huge pages of 2 MiB for " + function + ": " + e.getMessage(), e);
        }
    }

    /**
     * One cold start: restores the snapshot with the strategy (through {@code handler}, which must be the one
     * {@link #startHandler} gave for it), its guest memory on 2 MiB pages when {@code hugePages} (reserved by the
     * caller, {@link #reserveHugePages}), invokes the function once, checks the reply and stops the VM.
     */
    public Measurement coldStart(FunctionSnapshot fs, Strategy strategy, boolean hugePages, HandlerProcess handler,
                                 int repetition, boolean cold) {
        if (strategy.servedByHandler() != (handler != null)) {
            throw new IllegalArgumentException("strategy " + strategy + (handler == null ? " needs" : " takes no") + " handler");
        }
        VmSpec spec = spec(fs.function()).withHugePages(hugePages);
        FirstAnswer a = restoreAndInvoke(fs, spec, fs.snapshot(), handler, strategy.label());
        long snapshotBytes = strategy == Strategy.SABRE ? FunctionSnapshot.size(fs.sabreFile()) : fs.memoryFileBytes();
        long wsBytes = switch (strategy) {
            case REAP -> FunctionSnapshot.size(fs.rawWorkingSet());
            case REAP_COMPRESSED -> FunctionSnapshot.size(fs.compressedWorkingSet());
            default -> 0;
        };
        return a.measurement(fs, driver.name(), strategy.label(), spec.pageSize(), repetition, 0, snapshotBytes, wsBytes,
                cold ? "cold" : "warm");
    }

    /**
     * One cold start from a store ({@code sabre e2e --store}, {@code sabre vm restore --store}), labelled
     * {@code STRATEGY store}: for {@code file}, the memory is pulled from the store into a local file first (what a
     * platform without lazy restores does; the pull counts in the restore time) and the VMM maps it; otherwise
     * {@code handler} serves it from the store through its host cache (see {@link #coldHostCache}).
     */
    public Measurement coldStartFromStore(FunctionSnapshot fs, Strategy strategy, HandlerProcess handler, StoreTarget store,
                                          String pageCache, int repetition) {
        if (strategy.servedByHandler() != (handler != null)) {
            throw new IllegalArgumentException("strategy " + strategy + (handler == null ? " needs" : " takes no") + " handler");
        }
        VmSpec spec = spec(fs.function());
        String label = strategy.label() + " store";
        if (handler == null) {
            Path dir = WorkDir.create("sabre-pulled");
            try {
                Path memory = dir.resolve(fs.snapshot().memoryFile().getFileName());
                long start = System.nanoTime();
                store.pull(fs, memory, spec.image().rootfs());
                long pullMicros = (System.nanoTime() - start) / 1000;
                Snapshot s = fs.snapshot();
                Snapshot pulled = new Snapshot(s.function(), s.vmm(), s.memoryBytes(), s.imageId(), s.stateFile(), memory);
                FirstAnswer a = restoreAndInvoke(fs, spec, pulled, null, label);
                return a.measurement(fs, driver.name(), label, spec.pageSize(), repetition, pullMicros,
                        FunctionSnapshot.size(memory), 0, "pulled");
            } finally {
                WorkDir.deleteTree(dir);
            }
        }
        FirstAnswer a = restoreAndInvoke(fs, spec, fs.snapshot(), handler, label);
        return a.measurement(fs, driver.name(), label, spec.pageSize(), repetition, 0, 0, 0, pageCache);
    }

    /**
     * Makes a long-running store handler meet the next restore as it would a snapshot it has not served yet: a
     * warm-up session ({@link HandlerWarmUp}: its JIT warm, its per-thread decoded frames replaced by others), then
     * its host cache at {@code cacheRoot} emptied. Nothing is done for {@code file} (no handler).
     */
    public void coldHostCache(FunctionSnapshot fs, HandlerProcess handler, Path cacheRoot) {
        if (handler != null) {
            HandlerWarmUp.run(handler, fs);
            StoreTarget.emptyHostCache(cacheRoot);
        }
    }

    /** What one restore and first invocation gave; the handler's session report, or null without one. */
    private record FirstAnswer(long restoreMicros, long coldStartMicros, String reply, HandlerProcess.SessionStats stats) {
        Measurement measurement(FunctionSnapshot fs, String vmm, String label, long pageSize, int repetition,
                                long extraRestoreMicros, long snapshotBytes, long wsBytes, String pageCache) {
            return new Measurement(fs.function(), vmm, label, pageSize, repetition, restoreMicros + extraRestoreMicros,
                    coldStartMicros, snapshotBytes, wsBytes, pageCache, stats == null ? -1 : stats.faults(),
                    stats == null ? -1 : stats.bytesRead(), stats == null ? -1 : stats.bytesInstalled(),
                    stats == null ? -1 : stats.restoreMicros(), reply);
        }
    }

    /**
     * Restores {@code snapshot} (through {@code handler}, or mapped by the VMM without one), invokes the function
     * once, checks the reply and stops the VM; a handler that dies takes the VM down with it.
     */
    private FirstAnswer restoreAndInvoke(FunctionSnapshot fs, VmSpec spec, Snapshot snapshot, HandlerProcess handler,
                                         String label) {
        MemoryBackend backend = handler == null ? MemoryBackend.file() : MemoryBackend.uffd(handler.socket());
        long restoreMicros, coldStartMicros;
        String reply;
        if (handler != null) {
            handler.requireAlive();
            handler.discardReports();
            Instant since = Instant.now();
            handler.onDeath(() -> killVmms(since));
        }
        try {
            Restored restored = driver.restore(spec, snapshot, backend);
            try (Vm vm = restored.vm()) {
                Invocation first = driver.invoke(vm, fs.input());
                fs.checkReply(fs.function() + " restored with " + label, first.reply());
                restoreMicros = restored.restoreMicros();
                coldStartMicros = first.micros();
                reply = first.reply();
            }
        } catch (VmmException e) {
            throw handlerDeath(handler, fs, e);
        } finally {
            if (handler != null) {
                handler.onDeath(null);
            }
        }
        HandlerProcess.SessionStats stats = handler == null ? null : handler.nextSession(REPORT_TIMEOUT);
        return new FirstAnswer(restoreMicros, coldStartMicros, reply, stats);
    }

    /**
     * Starts a handler serving the function's snapshot in {@code store} with {@code strategy} (null for
     * {@code file}, which pulls instead), its host cache under {@code cacheRoot}.
     */
    public HandlerProcess startStoreHandler(FunctionSnapshot fs, Strategy strategy, StoreTarget store, Path cacheRoot) {
        if (!strategy.servedByHandler()) {
            return null;
        }
        return HandlerProcess.start(store.reference(fs, strategy), strategy, null, false, false, handlerThreads,
                store.access(cacheRoot, spec(fs.function()).image().rootfs()));
    }

    /**
     * Restores {@code function} from {@code fs} once: {@link #coldStart} with a handler of its own, started before
     * and stopped after, and on huge pages the host's huge pages reserved before and given back after. A snapshot
     * of another function, memory size, VMM or guest image is refused first, as is {@code file} on huge pages.
     */
    public Measurement restoreOnce(String function, FunctionSnapshot fs, Strategy strategy, boolean hugePages) {
        fs.snapshot().checkCompatible(spec(function), driver.name());
        checkPageSize(strategy, hugePages);
        try (HugePageReservation reserved = hugePages ? reserveHugePages(function) : null;
             HandlerProcess handler = startHandler(fs, strategy)) {
            return coldStart(fs, strategy, hugePages, handler, 1, false);
        }
    }

    /**
     * Restores {@code function} once from its snapshot in {@code store} ({@link #coldStartFromStore}), with a
     * handler and a host cache of its own, both removed after; the device state comes from {@code fs}.
     */
    public Measurement restoreOnceFromStore(String function, FunctionSnapshot fs, Strategy strategy, StoreTarget store) {
        fs.snapshot().checkCompatible(spec(function), driver.name());
        if (!EndToEnd.STORE_STRATEGIES.contains(strategy)) {
            throw new VmmException("strategy " + strategy.label() + " does not restore from a store here; use one of "
                    + EndToEnd.STORE_STRATEGIES.stream().map(Strategy::label).toList());
        }
        Path cacheRoot = StoreTarget.freshCacheRoot();
        try (HandlerProcess handler = startStoreHandler(fs, strategy, store, cacheRoot)) {
            return coldStartFromStore(fs, strategy, handler, store, "cold host cache", 1);
        } finally {
            WorkDir.deleteTree(cacheRoot);
        }
    }

    /** Refuses {@code file} on huge pages before anything starts (hugetlb memory is filled only through a handler). */
    public static void checkPageSize(Strategy strategy, boolean hugePages) {
        if (hugePages && !strategy.servedByHandler()) {
            throw new VmmException("strategy " + strategy.label() + " cannot use 2 MiB huge pages: the VMM maps the "
                    + "memory file itself, and hugetlb memory is filled only through a page-fault handler");
        }
    }

    /**
     * The error to report: the handler's death, or the handler's reason when it gave up on the VM and killed it
     * (a snapshot that fails its checksum, a fault outside the memory), when that is what ended the VM; else
     * {@code e} itself.
     */
    private static VmmException handlerDeath(HandlerProcess handler, FunctionSnapshot fs, VmmException e) {
        if (handler == null) {
            return e;
        }
        if (!handler.isAlive()) {
            return new VmmException(handler.describeDeath() + "; stopped the VM of " + fs.function(), e);
        }
        HandlerProcess.SessionStats session = handler.nextSession(Duration.ofSeconds(2));
        if (session != null && session.outcome().startsWith("cannot be served")) {
            return new VmmException(handler.describe() + " killed the VM of " + fs.function() + ", which "
                    + session.outcome(), e);
        }
        return e;
    }

    /**
     * Kills the VMM processes this JVM started since {@code since}: called when their page-fault handler died,
     * since their vCPUs would otherwise wait for pages forever (only SIGKILL ends such a VMM).
     */
    private void killVmms(Instant since) {
        Instant from = since.minusSeconds(1);
        ProcessHandle.current().children()
                .filter(p -> p.info().command().orElse("").contains(driver.name()))
                .filter(p -> p.info().startInstant().map(t -> !t.isBefore(from)).orElse(true))
                .forEach(p -> {
                    progress.step("the page-fault handler died: killing " + driver.name() + " pid " + p.pid());
                    p.destroyForcibly();
                });
    }
}
