package dev.sabre.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.DoublePredicate;
import java.util.function.ToLongFunction;

/**
 * Turns measurements into what people and scripts read: a table of medians with their spread per function
 * and strategy, the targets checked against the medians, and a CSV with one row per cold start.
 */
public final class Report {
    /** The CSV columns, in order. */
    public static final List<String> CSV_COLUMNS = List.of("function", "vmm", "strategy", "page_size", "repetition",
            "restore_us", "cold_start_us", "total_us", "snapshot_bytes", "ws_bytes", "page_cache", "faults",
            "handler_read_bytes", "installed_bytes", "prefetch_us");
    private static final long SMALL_PAGE = 4096;

    private Report() {
    }

    /** Medians per function, strategy and page size, in the order measured. */
    public record Row(String function, String strategy, long pageSize, Stats restore, Stats coldStart, Stats total,
                      long snapshotBytes, long wsBytes, double faults, double installedBytes, double prefetchMicros) {
        /** The strategy, with the page size when it is not 4 KiB ({@code lazy 2M}): a series name in the plots. */
        public String label() {
            return pageSize == SMALL_PAGE ? strategy : strategy + " " + Measurement.pageLabel(pageSize);
        }
    }

    public static List<Row> rows(List<Measurement> measurements) {
        Map<String, List<Measurement>> groups = new LinkedHashMap<>();
        for (Measurement m : measurements) {
            groups.computeIfAbsent(m.function() + "\0" + m.strategy() + "\0" + m.pageSize(), k -> new ArrayList<>()).add(m);
        }
        List<Row> rows = new ArrayList<>();
        for (List<Measurement> g : groups.values()) {
            Measurement first = g.getFirst();
            rows.add(new Row(first.function(), first.strategy(), first.pageSize(),
                    Stats.of(g.stream().map(Measurement::restoreMicros).toList()),
                    Stats.of(g.stream().map(Measurement::coldStartMicros).toList()),
                    Stats.of(g.stream().map(Measurement::totalMicros).toList()),
                    first.snapshotBytes(), first.wsBytes(), medianOrNone(g, Measurement::faults),
                    medianOrNone(g, Measurement::installedBytes), medianOrNone(g, Measurement::prefetchMicros)));
        }
        return rows;
    }

    /** The median of a handler figure, or -1 when there is none (no handler, or no prefetch). */
    private static double medianOrNone(List<Measurement> group, ToLongFunction<Measurement> figure) {
        return figure.applyAsLong(group.getFirst()) < 0 ? -1 : Stats.of(group.stream().map(figure::applyAsLong).toList()).median();
    }

    /** The comparison table: medians in ms with [min-max], sizes in MiB. */
    public static String table(List<Measurement> measurements) {
        StringBuilder b = new StringBuilder();
        String format = "%-16s %-21s %4s %-22s %-24s %-24s %10s %8s %8s %9s %9s%n";
        b.append(String.format(Locale.ROOT, format, "function", "strategy", "page", "restore ms", "cold start ms", "total ms",
                "memory MiB", "WS MiB", "faults", "prefetch", "installed"));
        b.append(String.format(Locale.ROOT, format, "", "", "", "median [min-max]", "median [min-max]", "median [min-max]",
                "on disk", "on disk", "median", "ms median", "MiB"));
        for (Row r : rows(measurements)) {
            b.append(String.format(Locale.ROOT, format, r.function(), r.strategy(), Measurement.pageLabel(r.pageSize()),
                    ms(r.restore()), ms(r.coldStart()),
                    ms(r.total()), String.format(Locale.ROOT, "%.1f", r.snapshotBytes() / 1048576.0),
                    r.wsBytes() == 0 ? "-" : String.format(Locale.ROOT, "%.2f", r.wsBytes() / 1048576.0),
                    r.faults() < 0 ? "-" : String.format(Locale.ROOT, "%.0f", r.faults()),
                    r.prefetchMicros() < 0 ? "-" : String.format(Locale.ROOT, "%.1f", r.prefetchMicros() / 1000),
                    r.installedBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.1f", r.installedBytes() / 1048576.0)));
        }
        return b.toString();
    }

    private static String ms(Stats s) {
        return String.format(Locale.ROOT, "%.1f [%.1f-%.1f]", s.median() / 1000, s.min() / 1000, s.max() / 1000);
    }

    /**
     * The targets for each function, from the medians: reap-compressed cold start at least 30 % below
     * lazy, below reap, no worse than file; its working set on disk at most a third of the raw one (all on 4 KiB
     * pages); and where lazy ran on both page sizes, its faults on 2 MiB pages at most a tenth of those on 4 KiB.
     */
    public static String targets(List<Measurement> all) {
        StringBuilder b = new StringBuilder();
        hugePageTargets(all, b);
        List<Measurement> measurements = all.stream().filter(m -> m.pageSize() == SMALL_PAGE).toList();
        Map<String, Map<String, Row>> byFunction = new LinkedHashMap<>();
        for (Row r : rows(measurements)) {
            byFunction.computeIfAbsent(r.function(), k -> new LinkedHashMap<>()).put(r.strategy(), r);
        }
        byFunction.forEach((function, rows) -> {
            Optional<Row> rc = Optional.ofNullable(rows.get("reap-compressed"));
            if (rc.isEmpty()) {
                return;
            }
            double cold = rc.get().coldStart().median();
            List<String> checks = new ArrayList<>();
            List<Measurement> mine = of(measurements, function, "reap-compressed");
            compare(rows.get("lazy"), cold, "lazy", "<= -30%", change -> change <= -30, checks);
            compare(rows.get("reap"), cold, "reap", "< 0%", change -> change < 0, checks);
            roundsWon(mine, of(measurements, function, "reap"), "reap", checks);
            compare(rows.get("file"), cold, "file", "<= 0%", change -> change <= 0, checks);
            roundsWon(mine, of(measurements, function, "file"), "file", checks);
            Row reap = rows.get("reap");
            if (reap != null && reap.wsBytes() > 0) {
                double ratio = (double) rc.get().wsBytes() / reap.wsBytes();
                checks.add(String.format(Locale.ROOT, "WS on disk %.2f MiB vs %.2f MiB raw = %.2f (target <= 0.33: %s)",
                        rc.get().wsBytes() / 1048576.0, reap.wsBytes() / 1048576.0, ratio, ratio <= 1.0 / 3 ? "met" : "NOT met"));
            }
            b.append(function).append(": reap-compressed cold start ")
                    .append(String.format(Locale.ROOT, "%.1f ms", cold / 1000)).append("; ")
                    .append(String.join("; ", checks)).append('\n');
        });
        return b.toString();
    }

    /**
     * Restores from a store against their baselines of the same rounds (medians): reap-compressed from the store
     * (cold host cache) against reap-compressed from the local disk, first answer (issue 12's target at 1 Gbit/s:
     * within 1.25x); and restore plus first answer of {@code file store} (pull, then the VMM maps the file)
     * against reap-compressed from the store. The pull moves only what the store holds (deduplicated, compressed,
     * pages on the disk image left there), so it is not the baseline of the 1.8x and 5x targets, downloading the
     * whole memory file: {@code sabre bench store} measures that one. Then what each restore from the store moved
     * over the link.
     */
    public static String storeTraffic(List<Measurement> all, List<EndToEnd.StoreTraffic> traffic) {
        StringBuilder b = new StringBuilder();
        Map<String, Map<String, Row>> byFunction = new LinkedHashMap<>();
        for (Row r : rows(all.stream().filter(m -> m.pageSize() == SMALL_PAGE).toList())) {
            byFunction.computeIfAbsent(r.function(), k -> new LinkedHashMap<>()).put(r.strategy(), r);
        }
        byFunction.forEach((function, rows) -> {
            Row stored = rows.get("reap-compressed store");
            Row local = rows.get("reap-compressed");
            Row download = rows.get("file store");
            Row raw = rows.get("reap store");
            if (stored != null && raw != null && stored.prefetchMicros() > 0) {
                b.append(String.format(Locale.ROOT, "%s: working-set prefetch from the store, REAP raw %.1f ms vs compressed %.1f ms = %.2fx (target at 1 Gbit/s >= 2.5x)%n",
                        function, raw.prefetchMicros() / 1000, stored.prefetchMicros() / 1000, raw.prefetchMicros() / stored.prefetchMicros()));
            }
            if (stored != null && local != null) {
                b.append(String.format(Locale.ROOT, "%s: first answer, reap-compressed from the store %.1f ms vs local %.1f ms = %.2fx (target at 1 Gbit/s <= 1.25x)%n",
                        function, stored.coldStart().median() / 1000, local.coldStart().median() / 1000,
                        stored.coldStart().median() / local.coldStart().median()));
            }
            if (stored != null && download != null) {
                b.append(String.format(Locale.ROOT, "%s: restore + first answer, pull then file %.1f ms vs reap-compressed from the store %.1f ms = %.1fx faster (the 1.8x and 5x targets are against downloading the whole memory file: sabre bench store)%n",
                        function, download.total().median() / 1000, stored.total().median() / 1000,
                        download.total().median() / stored.total().median()));
            }
        });
        b.append(String.format(Locale.ROOT, "%-18s %-52s %5s %14s %9s%n", "function", "restore from the store", "rep", "over the link", "requests"));
        for (EndToEnd.StoreTraffic t : traffic) {
            b.append(String.format(Locale.ROOT, "%-18s %-52s %5d %14s %9s%n", t.function(), t.restore(), t.repetition(),
                    t.linkBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.2f MiB", t.linkBytes() / 1048576.0),
                    t.requests() < 0 ? "-" : Long.toString(t.requests())));
        }
        return b.toString();
    }

    /** Lazy faults per restore on huge pages against 4 KiB pages, for each function measured on both. */
    private static void hugePageTargets(List<Measurement> measurements, StringBuilder b) {
        Map<String, Map<Long, Row>> lazy = new LinkedHashMap<>();
        for (Row r : rows(measurements)) {
            if (r.strategy().equals("lazy")) {
                lazy.computeIfAbsent(r.function(), k -> new LinkedHashMap<>()).put(r.pageSize(), r);
            }
        }
        lazy.forEach((function, bySize) -> bySize.forEach((size, huge) -> {
            Row small = bySize.get(SMALL_PAGE);
            if (size == SMALL_PAGE || small == null || small.faults() <= 0) {
                return;
            }
            double ratio = huge.faults() / small.faults();
            b.append(String.format(Locale.ROOT, "%s: lazy faults on %s pages %.0f vs %.0f on 4K = %.3f (target <= 0.10: %s)%n",
                    function, Measurement.pageLabel(size), huge.faults(), small.faults(), ratio, ratio <= 0.1 ? "met" : "NOT met"));
        }));
    }

    private static List<Measurement> of(List<Measurement> measurements, String function, String strategy) {
        return measurements.stream().filter(m -> m.function().equals(function) && m.strategy().equals(strategy)).toList();
    }

    /**
     * Adds in how many repetitions (rounds, which measure every strategy once, side by side) {@code mine}
     * had the lower cold start than {@code other}: a median can flip on noise, a 7-of-8 count rarely does.
     */
    private static void roundsWon(List<Measurement> mine, List<Measurement> other, String name, List<String> checks) {
        Map<Integer, Long> theirs = new LinkedHashMap<>();
        other.forEach(m -> theirs.put(m.repetition(), m.coldStartMicros()));
        long won = 0, rounds = 0;
        for (Measurement m : mine) {
            Long t = theirs.get(m.repetition());
            if (t != null) {
                rounds++;
                won += m.coldStartMicros() < t ? 1 : 0;
            }
        }
        if (rounds > 0) {
            checks.add(String.format(Locale.ROOT, "lower than %s in %d of %d rounds", name, won, rounds));
        }
    }

    /** Adds the change of {@code cold} against the baseline's median cold start, in percent, and whether it meets the target. */
    private static void compare(Row baseline, double cold, String name, String target, DoublePredicate met,
                                List<String> checks) {
        if (baseline == null) {
            return;
        }
        double change = 100 * (cold - baseline.coldStart().median()) / baseline.coldStart().median();
        checks.add(String.format(Locale.ROOT, "%+.1f%% vs %s %.1f ms (target %s: %s)", change, name,
                baseline.coldStart().median() / 1000, target, met.test(change) ? "met" : "NOT met"));
    }

    /** Writes the CSV (temporary name, then rename), one row per measured cold start. */
    public static void writeCsv(Path file, List<Measurement> measurements) throws IOException {
        StringBuilder b = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
        for (Measurement m : measurements) {
            b.append(String.join(",", csv(m.function()), m.vmm(), m.strategy(), Long.toString(m.pageSize()),
                    Integer.toString(m.repetition()),
                    Long.toString(m.restoreMicros()), Long.toString(m.coldStartMicros()), Long.toString(m.totalMicros()),
                    Long.toString(m.snapshotBytes()), Long.toString(m.wsBytes()), m.pageCache(),
                    Long.toString(m.faults()), Long.toString(m.handlerBytesRead()), Long.toString(m.installedBytes()),
                    Long.toString(m.prefetchMicros())))
                    .append('\n');
        }
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, b, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
