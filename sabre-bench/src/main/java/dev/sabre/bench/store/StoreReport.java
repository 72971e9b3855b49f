package dev.sabre.bench.store;

import dev.sabre.bench.Charts;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/** The fleet benchmark's tables (medians per function, rate and variant, with ratios), targets and plots. */
final class StoreReport {
    private static final String DOWNLOAD = "download+file";
    private static final String STORE = "reap-compressed store";
    private static final String LOCAL = "reap-compressed local";
    private static final String RAW = "reap (raw) store";

    /** One target: what was measured against what, and whether it was met. */
    record Target(String what, String measured, String target, boolean met) {
    }

    private final StoreBench.Result result;
    private final List<Target> targets = new ArrayList<>();

    StoreReport(StoreBench.Result result) {
        this.result = result;
        evaluate();
    }

    private List<String> functions() {
        return result.rows().stream().map(StoreBench.Row::function).distinct().toList();
    }

    private List<String> rates() {
        return result.rows().stream().map(StoreBench.Row::rate).distinct().toList();
    }

    private List<String> variants() {
        return result.rows().stream().map(StoreBench.Row::variant).distinct().toList();
    }

    /** The median of {@code field} over the repetitions of one function, rate and variant; -1 when none ran. */
    long median(String function, String rate, String variant, ToLongFunction<StoreBench.Row> field) {
        long[] values = result.rows().stream()
                .filter(r -> r.function().equals(function) && r.rate().equals(rate) && r.variant().equals(variant))
                .mapToLong(field).sorted().toArray();
        return values.length == 0 ? -1 : values[values.length / 2];
    }

    private void evaluate() {
        for (String f : functions()) {
            for (String rate : rates()) {
                long download = median(f, rate, DOWNLOAD, StoreBench.Row::totalUs);
                long store = median(f, rate, STORE, StoreBench.Row::totalUs);
                if (rate.equals("1 Gbit/s")) {
                    long local = median(f, rate, LOCAL, StoreBench.Row::coldStartUs);
                    long remote = median(f, rate, STORE, StoreBench.Row::coldStartUs);
                    double r = (double) remote / local;
                    targets.add(new Target(f + " @1 Gbit/s: first answer, store (cold cache) vs local disk",
                            String.format(Locale.ROOT, "%.2fx", r), "<= 1.25x", r <= 1.25));
                    long raw = median(f, rate, RAW, StoreBench.Row::prefetchUs);
                    long compressed = median(f, rate, STORE, StoreBench.Row::prefetchUs);
                    if (raw > 0 && compressed > 0) {
                        double p = (double) raw / compressed;
                        targets.add(new Target(f + " @1 Gbit/s: working-set prefetch, REAP raw / reap-compressed (store)",
                                String.format(Locale.ROOT, "%.2fx (%.1f vs %.1f ms)", p, raw / 1e3, compressed / 1e3),
                                ">= 2.5x", p >= 2.5));
                    }
                }
                double speedup = (double) download / store;
                double want = rate.equals("1 Gbit/s") ? 1.8 : rate.equals("100 Mbit/s") ? 5 : Double.NaN;
                if (!Double.isNaN(want)) {
                    targets.add(new Target(f + " @" + rate + ": restore + first answer, download+file / reap-compressed store",
                            String.format(Locale.ROOT, "%.1fx", speedup), ">= " + want + "x", speedup >= want));
                }
            }
        }
        for (StoreBench.CacheCheck c : result.cacheChecks()) {
            // The handler reads the snapshot's name and manifest when it starts, before any VMM: not counted here.
            boolean second = c.what().contains("second");
            boolean met = second ? c.requests() == 0 : c.linkBytes() <= c.coldLinkBytes() * 1.1;
            targets.add(new Target(c.function() + " " + c.what(),
                    String.format(Locale.ROOT, "%d GETs, %s (one cold restore: %d GETs, %s)", c.requests(),
                            StoreBench.mib(c.linkBytes()), c.coldRequests(), StoreBench.mib(c.coldLinkBytes())),
                    second ? "0 GETs" : "<= 1.1x one restore's bytes", met));
        }
        StoreBench.SizeResult s = result.size();
        double ratio = (double) s.memoryBytes() / s.storedBytes();
        targets.add(new Target(s.snapshots() + " snapshots with working sets in one store: memory / stored",
                String.format(Locale.ROOT, "1/%.1f (%s of %s; without cross-snapshot dedup 1/%.1f)", ratio,
                        StoreBench.mib(s.storedBytes()), StoreBench.mib(s.memoryBytes()), (double) s.memoryBytes() / s.aloneBytes()),
                "<= 1/30", ratio >= 30));
    }

    boolean allTargetsMet() {
        return targets.stream().allMatch(Target::met);
    }

    void print(PrintStream out) {
        for (String f : functions()) {
            for (String rate : rates()) {
                out.printf(Locale.ROOT, "%n%s over %s (medians of the repetitions)%n", f, rate);
                out.printf(Locale.ROOT, "%-24s %12s %9s %12s %12s %14s %12s %10s %12s %14s%n", "variant", "link", "requests",
                        "prefetch ms", "restore ms", "cold start ms", "total ms", "faults", "vs download", "server CPU ms");
                long download = median(f, rate, DOWNLOAD, StoreBench.Row::totalUs);
                for (String v : variants()) {
                    long total = median(f, rate, v, StoreBench.Row::totalUs);
                    long prefetch = median(f, rate, v, StoreBench.Row::prefetchUs);
                    long faults = median(f, rate, v, StoreBench.Row::faults);
                    long serverCpu = median(f, rate, v, StoreBench.Row::serverCpuUs);
                    out.printf(Locale.ROOT, "%-24s %12s %9d %12s %12.1f %14.1f %12.1f %10s %11.2fx %14s%n", v,
                            StoreBench.mib(median(f, rate, v, StoreBench.Row::linkBytes)),
                            median(f, rate, v, StoreBench.Row::requests),
                            prefetch < 0 ? "-" : String.format(Locale.ROOT, "%.1f", prefetch / 1e3),
                            median(f, rate, v, StoreBench.Row::restoreUs) / 1e3,
                            median(f, rate, v, StoreBench.Row::coldStartUs) / 1e3, total / 1e3,
                            faults < 0 ? "-" : Long.toString(faults), (double) download / total,
                            serverCpu < 0 ? "-" : String.format(Locale.ROOT, "%.1f", serverCpu / 1e3));
                }
            }
        }
        out.printf(Locale.ROOT, "%n%-78s %-60s %-30s %s%n", "target", "measured", "wanted", "met");
        for (Target t : targets) {
            out.printf(Locale.ROOT, "%-78s %-60s %-30s %s%n", t.what(), t.measured(), t.target(), t.met() ? "yes" : "NO");
        }
    }

    /** Restore + first answer and bytes on the link, per variant, one series per rate, for each function. */
    void plots(Path dir) throws IOException {
        for (String f : functions()) {
            Map<String, List<Double>> totals = new LinkedHashMap<>();
            Map<String, List<Double>> bytes = new LinkedHashMap<>();
            for (String rate : rates()) {
                totals.put(rate, variants().stream().map(v -> median(f, rate, v, StoreBench.Row::totalUs) / 1e3).toList());
                // A local restore moves nothing over the link: no bar on a log axis.
                bytes.put(rate, variants().stream().map(v -> median(f, rate, v, StoreBench.Row::linkBytes) / 1048576.0)
                        .map(m -> m > 0 ? m : Double.NaN).toList());
            }
            Charts.bars(dir.resolve("store-" + f + "-total.png"), f + ": restore + first answer over a shaped link",
                    "restore", "ms (log)", variants(), totals, true);
            Charts.bars(dir.resolve("store-" + f + "-bytes.png"), f + ": bytes over the link per restore", "restore",
                    "MiB (log)", variants(), bytes, true);
        }
    }
}
