package dev.sabre.e2e;

import dev.sabre.handler.Strategy;
import dev.sabre.oci.OciException;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The end-to-end experiment of {@code sabre e2e}, as vHive's run_end2end and run_reap_end2end: for each
 * function, snapshot once and record the working set on a first invocation after a restore; then, for every
 * strategy, restore repeatedly from a cold page cache and measure VM restore latency, cold start and total.
 * One handler process serves all restores of a strategy, like a long-running production handler; the
 * warm-up restores before the measured ones are not reported. A function that fails is reported and the
 * others still run.
 */
public final class EndToEnd {
    /**
     * @param functions   functions to measure, in order
     * @param strategies  strategies to compare, in order
     * @param repetitions measured restores per function and strategy
     * @param warmups     unreported restores before them (JIT warm-up of the handler, first-use costs)
     * @param input       the request's name for every invocation ("" = each function's default)
     * @param dropCaches  drop the page caches before every measured restore
     * @param hugePages   also measure every strategy served by a handler with guest memory on 2 MiB huge pages,
     *                    in the same rounds as on 4 KiB pages (the host's huge pages reserved for the run)
     * @param store       also push each snapshot there and measure, in the same rounds, each strategy that can
     *                    restore from a store ({@link #STORE_STRATEGIES}) from it, through a cold host cache; or null
     * @param images      build each function's container image, push it to this run's private registry and measure
     *                    {@code FUNCTION-image}, defined from it, instead ({@code --images}); or null
     */
    public record Options(List<String> functions, List<Strategy> strategies, int repetitions, int warmups,
                          String input, boolean dropCaches, boolean hugePages, StoreTarget store, ImageFunctions images) {
        public Options {
            Objects.requireNonNull(input, "input");
            if (functions.isEmpty() || strategies.isEmpty()) {
                throw new VmmException("nothing to measure: no functions or no strategies");
            }
            if (new java.util.HashSet<>(strategies).size() != strategies.size()) {
                throw new VmmException("a strategy is listed twice: " + strategies);
            }
            if (repetitions < 1 || repetitions > 1000) {
                throw new VmmException("repetitions must be between 1 and 1000, not " + repetitions);
            }
            if (warmups < 0 || warmups > 100) {
                throw new VmmException("warm-ups must be between 0 and 100, not " + warmups);
            }
            if (hugePages && strategies.stream().noneMatch(Strategy::servedByHandler)) {
                throw new VmmException("huge pages need a strategy served by a page-fault handler, not only " + strategies);
            }
            if (store != null && strategies.stream().noneMatch(STORE_STRATEGIES::contains)) {
                throw new VmmException("--store needs a strategy that restores from a store (" + STORE_STRATEGIES + "), not only "
                        + strategies);
            }
        }

        public Options(List<String> functions, List<Strategy> strategies, int repetitions, int warmups, String input,
                       boolean dropCaches, boolean hugePages, StoreTarget store) {
            this(functions, strategies, repetitions, warmups, input, dropCaches, hugePages, store, null);
        }

        public Options(List<String> functions, List<Strategy> strategies, int repetitions, int warmups, String input,
                       boolean dropCaches, boolean hugePages) {
            this(functions, strategies, repetitions, warmups, input, dropCaches, hugePages, null, null);
        }

        /** On 4 KiB pages only. */
        public Options(List<String> functions, List<Strategy> strategies, int repetitions, int warmups, String input,
                       boolean dropCaches) {
            this(functions, strategies, repetitions, warmups, input, dropCaches, false, null, null);
        }

        /**
         * What each round restores: every strategy on 4 KiB pages, then, with huge pages, each handler strategy on
         * 2 MiB, then, with a store, each strategy that can restore from it, from it.
         */
        List<Restore> restores() {
            List<Restore> restores = new ArrayList<>(strategies.stream().map(s -> new Restore(s, false, false)).toList());
            if (hugePages) {
                strategies.stream().filter(Strategy::servedByHandler).forEach(s -> restores.add(new Restore(s, true, false)));
            }
            if (store != null) {
                strategies.stream().filter(STORE_STRATEGIES::contains).forEach(s -> restores.add(new Restore(s, false, true)));
            }
            return restores;
        }
    }

    /**
     * Strategies measured from a store with {@code --store}: {@code file} pulls the memory first (download, then
     * the VMM maps it), the others are served by the handler from the store ({@code reap} from the raw copy).
     */
    public static final List<Strategy> STORE_STRATEGIES = List.of(Strategy.FILE, Strategy.LAZY, Strategy.EAGER, Strategy.SABRE,
            Strategy.REAP, Strategy.REAP_COMPRESSED);

    /** One kind of restore measured in each round: a strategy, on 4 KiB or 2 MiB pages, from local files or a store. */
    record Restore(Strategy strategy, boolean hugePages, boolean fromStore) {
        @Override
        public String toString() {
            return strategy.label() + (hugePages ? " 2M" : "") + (fromStore ? " store" : "");
        }
    }

    /** A function that could not be measured, with the one-line reason. */
    public record Failure(String function, String message) {
    }

    /**
     * What one restore from a store moved: bytes the host received over the shaped link and GET requests the
     * server answered (-1 each without a link), and the handler's bytes fetched from the store.
     */
    public record StoreTraffic(String function, String restore, int repetition, long linkBytes, long requests) {
    }

    /**
     * Every measured cold start, the functions that failed, whether page caches could be dropped, and with a
     * store what each restore from it moved (the last of each strategy's: a second restore on the same host,
     * its host cache as the one before left it, repetition 0).
     */
    public record Result(List<Measurement> rows, List<Failure> failures, String pageCacheNote,
                         List<FunctionSnapshot> snapshots, List<StoreTraffic> traffic) {
        public Result(List<Measurement> rows, List<Failure> failures, String pageCacheNote, List<FunctionSnapshot> snapshots) {
            this(rows, failures, pageCacheNote, snapshots, List.of());
        }
    }

    private final Orchestrator orchestrator;
    private final StepLog progress;

    public EndToEnd(Orchestrator orchestrator, StepLog progress) {
        this.orchestrator = orchestrator;
        this.progress = progress;
    }

    public Result run(Options options) {
        options.functions().forEach(orchestrator::checkFunction); // unknown names fail before any work
        List<Measurement> rows = new ArrayList<>();
        List<Failure> failures = new ArrayList<>();
        List<FunctionSnapshot> snapshots = new ArrayList<>();
        List<StoreTraffic> traffic = new ArrayList<>();
        String cacheNote = null;
        if (options.dropCaches()) {
            String why = PageCache.drop();
            if (why != null) {
                cacheNote = "page caches NOT dropped (" + why + "): restores read from a warm page cache, "
                        + "prefetches still with O_DIRECT";
                progress.step(cacheNote);
            }
        } else {
            cacheNote = "page caches not dropped (--warm): restores read from a warm page cache";
        }
        boolean cold = options.dropCaches() && cacheNote == null;
        for (String named : options.functions()) {
            String function = named;
            try {
                if (options.images() != null) {
                    function = options.images().define(named); // measured as FUNCTION-image
                }
                progress.step(function + ": building images");
                orchestrator.build(function);
                FunctionSnapshot fs = orchestrator.snapshot(function, options.input());
                if (options.strategies().stream().anyMatch(Strategy::replaysWorkingSet)) {
                    progress.step(function + ": recording the working set (reap-record, first invocation)");
                    fs = orchestrator.recordWorkingSet(fs);
                }
                snapshots.add(fs);
                if (options.store() != null) {
                    Path disk = orchestrator.build(function).rootfs();
                    options.store().push(fs, Strategy.REAP_COMPRESSED, disk);
                    if (options.strategies().contains(Strategy.REAP)) {
                        options.store().push(fs, Strategy.REAP, disk);
                    }
                }
                List<Measurement> measured;
                try (Orchestrator.HugePageReservation reserved = options.hugePages() ? orchestrator.reserveHugePages(function) : null) {
                    measured = measure(fs, options, cold, traffic);
                }
                rows.addAll(measured);
                Report.targets(measured).lines().forEach(line -> progress.step("done: " + line));
            } catch (VmmException | OciException | IllegalStateException e) {
                String message = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                progress.step(function + ": FAILED: " + message);
                failures.add(new Failure(function, message));
            }
        }
        return new Result(rows, failures, cacheNote, snapshots, traffic);
    }

    /**
     * Measures the strategies in rounds: each round restores once with every strategy, starting one further
     * along the list each time, so that drift on a noisy host (a neighbour's load, the host's disk cache)
     * falls on all strategies alike rather than on whichever ran last. Each strategy keeps one handler for
     * the whole run, as a deployment would, whatever page size the VM uses. Rows come back grouped by strategy and
     * page size (4 KiB first), in repetition order.
     */
    private List<Measurement> measure(FunctionSnapshot fs, Options options, boolean cold, List<StoreTraffic> traffic) {
        List<Strategy> strategies = options.strategies();
        List<Restore> restores = options.restores();
        Map<Strategy, HandlerProcess> handlers = new LinkedHashMap<>();
        Map<Strategy, HandlerProcess> storeHandlers = new LinkedHashMap<>();
        Map<Strategy, Path> cacheRoots = new LinkedHashMap<>();
        List<Measurement> rows = new ArrayList<>();
        RuntimeException failure = null;
        try {
            for (Strategy strategy : strategies) {
                handlers.put(strategy, orchestrator.startHandler(fs, strategy));
            }
            for (Restore r : restores) {
                if (r.fromStore()) {
                    Path root = StoreTarget.freshCacheRoot();
                    cacheRoots.put(r.strategy(), root);
                    storeHandlers.put(r.strategy(), orchestrator.startStoreHandler(fs, r.strategy(), options.store(), root));
                }
            }
            for (int i = 1; i <= options.warmups(); i++) {
                for (Restore r : restores) {
                    progress.step(String.format("%s %s: warm-up %d/%d", fs.function(), r, i, options.warmups()));
                    if (r.fromStore()) {
                        orchestrator.coldHostCache(fs, storeHandlers.get(r.strategy()), cacheRoots.get(r.strategy()));
                    }
                    restore(fs, r, options.store(), handlers, storeHandlers, 0, false);
                }
            }
            for (int rep = 1; rep <= options.repetitions(); rep++) {
                for (int k = 0; k < restores.size(); k++) {
                    Restore r = restores.get((rep - 1 + k) % restores.size());
                    if (cold) {
                        String why = PageCache.drop();
                        if (why != null) {
                            throw new VmmException("cannot drop the page caches any more: " + why);
                        }
                    }
                    if (r.fromStore()) {
                        orchestrator.coldHostCache(fs, storeHandlers.get(r.strategy()), cacheRoots.get(r.strategy()));
                    }
                    Counter counter = Counter.start(r.fromStore() ? options.store() : null);
                    Measurement m = restore(fs, r, options.store(), handlers, storeHandlers, rep, cold);
                    rows.add(m);
                    String moved = "";
                    if (r.fromStore()) {
                        StoreTraffic t = counter.stop(fs.function(), r.toString(), rep);
                        traffic.add(t);
                        moved = t.linkBytes() < 0 ? "" : String.format(", %.1f MiB over the link in %d requests",
                                t.linkBytes() / 1048576.0, t.requests());
                    }
                    progress.step(String.format("%s %s %d/%d: restore %.1f ms, cold start %.1f ms, total %.1f ms%s%s",
                            fs.function(), r, rep, options.repetitions(), m.restoreMicros() / 1000.0,
                            m.coldStartMicros() / 1000.0, m.totalMicros() / 1000.0,
                            m.faults() < 0 ? "" : ", " + m.faults() + " faults", moved));
                }
            }
            // The cache target: one more restore per handler strategy on the same host, through the host cache the
            // last measured restore filled: it should fetch nothing.
            for (Strategy s : storeHandlers.keySet()) {
                if (storeHandlers.get(s) == null) {
                    continue;
                }
                Restore r = new Restore(s, false, true);
                Counter counter = Counter.start(options.store());
                orchestrator.coldStartFromStore(fs, s, storeHandlers.get(s), options.store(), "host cache filled", 0);
                StoreTraffic t = counter.stop(fs.function(), r + ", second restore on the host", 0);
                traffic.add(t);
                progress.step(String.format("%s %s: second restore on the same host: %s", fs.function(), r,
                        t.linkBytes() < 0 ? "(no link to count on)" : String.format("%.1f MiB over the link in %d requests",
                                t.linkBytes() / 1048576.0, t.requests())));
            }
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            // Every handler is stopped, even when one of them fails to stop or a restore failed.
            List<HandlerProcess> all = new ArrayList<>(handlers.values());
            all.addAll(storeHandlers.values());
            for (HandlerProcess handler : all) {
                if (handler == null) {
                    continue;
                }
                try {
                    handler.close();
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            cacheRoots.values().forEach(WorkDir::deleteTree);
        }
        if (failure != null) {
            throw failure;
        }
        List<String> order = restores.stream().map(r -> r.strategy().label() + (r.fromStore() ? " store" : "")).distinct().toList();
        rows.sort(Comparator.comparingInt((Measurement m) -> order.indexOf(m.strategy()))
                .thenComparingLong(Measurement::pageSize)
                .thenComparingInt(Measurement::repetition));
        return rows;
    }

    /** One restore of kind {@code r}: from local files through its strategy's handler, or from the store (its host cache made cold first). */
    private Measurement restore(FunctionSnapshot fs, Restore r, StoreTarget store, Map<Strategy, HandlerProcess> handlers,
                                Map<Strategy, HandlerProcess> storeHandlers, int rep, boolean cold) {
        if (!r.fromStore()) {
            return orchestrator.coldStart(fs, r.strategy(), r.hugePages(), handlers.get(r.strategy()), rep, cold);
        }
        return orchestrator.coldStartFromStore(fs, r.strategy(), storeHandlers.get(r.strategy()), store, "cold host cache", rep);
    }

    /** Counts what crosses the store's link during one restore (nothing to count without a link). */
    private record Counter(StoreTarget store, long linkBytes, long requests) {
        static Counter start(StoreTarget store) {
            if (store == null || store.link() == null) {
                return new Counter(null, -1, -1);
            }
            return new Counter(store, store.link().receivedBytes(), store.server().settledGets());
        }

        StoreTraffic stop(String function, String restore, int repetition) {
            if (store == null) {
                return new StoreTraffic(function, restore, repetition, -1, -1);
            }
            return new StoreTraffic(function, restore, repetition, store.link().receivedBytes() - linkBytes,
                    store.server().settledGets() - requests);
        }
    }
}
