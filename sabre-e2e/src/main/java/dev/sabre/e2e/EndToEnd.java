package dev.sabre.e2e;

import dev.sabre.handler.Strategy;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

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
     */
    public record Options(List<String> functions, List<Strategy> strategies, int repetitions, int warmups,
                          String input, boolean dropCaches, boolean hugePages) {
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
        }

        /** On 4 KiB pages only. */
        public Options(List<String> functions, List<Strategy> strategies, int repetitions, int warmups, String input,
                       boolean dropCaches) {
            this(functions, strategies, repetitions, warmups, input, dropCaches, false);
        }

        /** What each round restores: every strategy on 4 KiB pages, then, with huge pages, each handler strategy on 2 MiB. */
        List<Restore> restores() {
            List<Restore> restores = new ArrayList<>(strategies.stream().map(s -> new Restore(s, false)).toList());
            if (hugePages) {
                strategies.stream().filter(Strategy::servedByHandler).forEach(s -> restores.add(new Restore(s, true)));
            }
            return restores;
        }
    }

    /** One kind of restore measured in each round: a strategy, on 4 KiB or 2 MiB pages. */
    record Restore(Strategy strategy, boolean hugePages) {
        @Override
        public String toString() {
            return strategy.label() + (hugePages ? " 2M" : "");
        }
    }

    /** A function that could not be measured, with the one-line reason. */
    public record Failure(String function, String message) {
    }

    /** Every measured cold start, the functions that failed, and whether page caches could be dropped. */
    public record Result(List<Measurement> rows, List<Failure> failures, String pageCacheNote,
                         List<FunctionSnapshot> snapshots) {
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
        for (String function : options.functions()) {
            try {
                progress.step(function + ": building images");
                orchestrator.build(function);
                FunctionSnapshot fs = orchestrator.snapshot(function, options.input());
                if (options.strategies().stream().anyMatch(Strategy::replaysWorkingSet)) {
                    progress.step(function + ": recording the working set (reap-record, first invocation)");
                    fs = orchestrator.recordWorkingSet(fs);
                }
                snapshots.add(fs);
                List<Measurement> measured;
                try (Orchestrator.HugePageReservation reserved = options.hugePages() ? orchestrator.reserveHugePages(function) : null) {
                    measured = measure(fs, options, cold);
                }
                rows.addAll(measured);
                Report.targets(measured).lines().forEach(line -> progress.step("done: " + line));
            } catch (VmmException | IllegalStateException e) {
                String message = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                progress.step(function + ": FAILED: " + message);
                failures.add(new Failure(function, message));
            }
        }
        return new Result(rows, failures, cacheNote, snapshots);
    }

    /**
     * Measures the strategies in rounds: each round restores once with every strategy, starting one further
     * along the list each time, so that drift on a noisy host (a neighbour's load, the host's disk cache)
     * falls on all strategies alike rather than on whichever ran last. Each strategy keeps one handler for
     * the whole run, as a deployment would, whatever page size the VM uses. Rows come back grouped by strategy and
     * page size (4 KiB first), in repetition order.
     */
    private List<Measurement> measure(FunctionSnapshot fs, Options options, boolean cold) {
        List<Strategy> strategies = options.strategies();
        List<Restore> restores = options.restores();
        Map<Strategy, HandlerProcess> handlers = new LinkedHashMap<>();
        List<Measurement> rows = new ArrayList<>();
        RuntimeException failure = null;
        try {
            for (Strategy strategy : strategies) {
                handlers.put(strategy, orchestrator.startHandler(fs, strategy));
            }
            for (int i = 1; i <= options.warmups(); i++) {
                for (Restore r : restores) {
                    progress.step(String.format("%s %s: warm-up %d/%d", fs.function(), r, i, options.warmups()));
                    orchestrator.coldStart(fs, r.strategy(), r.hugePages(), handlers.get(r.strategy()), 0, false);
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
                    Measurement m = orchestrator.coldStart(fs, r.strategy(), r.hugePages(), handlers.get(r.strategy()), rep,
                            cold);
                    rows.add(m);
                    progress.step(String.format("%s %s %d/%d: restore %.1f ms, cold start %.1f ms, total %.1f ms%s",
                            fs.function(), r, rep, options.repetitions(), m.restoreMicros() / 1000.0,
                            m.coldStartMicros() / 1000.0, m.totalMicros() / 1000.0,
                            m.faults() < 0 ? "" : ", " + m.faults() + " faults"));
                }
            }
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            // Every handler is stopped, even when one of them fails to stop or a restore failed.
            for (HandlerProcess handler : handlers.values()) {
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
        }
        if (failure != null) {
            throw failure;
        }
        List<String> order = strategies.stream().map(Strategy::label).toList();
        rows.sort(Comparator.comparingInt((Measurement m) -> order.indexOf(m.strategy()))
                .thenComparingLong(Measurement::pageSize)
                .thenComparingInt(Measurement::repetition));
        return rows;
    }
}
