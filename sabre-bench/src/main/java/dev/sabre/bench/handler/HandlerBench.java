package dev.sabre.bench.handler;

import dev.sabre.format.Datasets;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.handler.SimulatedVmm;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The handler under attack and under load, each target measured against a baseline of the same run: fault
 * latency of an honest VMM while silent peers hold connections open vs on an idle handler; threads and
 * descriptors after the attack vs idle; log lines per second; SIGTERM under attack; honest VMMs in bursts,
 * every byte checked; resident memory after many sequential sessions per snapshot policy.
 */
public final class HandlerBench {
    /** One measured line: what, the value, the baseline it is compared with, the target, and whether it is met. */
    public record Row(String what, String value, String baseline, String target, boolean met) {}

    public record Config(String dataset, int silent, int vmms, int burst, int pages, int sessions, List<PackPolicy> policies,
                         List<String> parts) {}

    private final Config config;
    private final Path work;
    private final PrintStream out;
    private final List<Row> rows = new ArrayList<>();

    public HandlerBench(Config config, Path work, PrintStream out) {
        this.config = config;
        this.work = work;
        this.out = out;
    }

    public List<Row> run() throws Exception {
        Path memory = Datasets.memoryFile(config.dataset());
        if (config.parts().contains("attack")) {
            attack(memory);
        }
        if (config.parts().contains("bursts")) {
            bursts(memory);
        }
        if (config.parts().contains("sessions")) {
            for (PackPolicy policy : config.policies()) {
                sequentialSessions(policy);
            }
        }
        return rows;
    }

    private void attack(Path memory) throws Exception {
        try (HandlerUnderTest handler = HandlerUnderTest.start(work, memory, "lazy")) {
            honestMicrosPerFault(handler, 1); // warm-up: links the codecs, touches the page cache
            double idle = honestMicrosPerFault(handler, 3);
            Thread.sleep(1000);
            long idleThreads = handler.threads(), idleFds = handler.descriptors();
            out.printf("idle handler: %.1f us per fault, %d threads, %d descriptors%n", idle, idleThreads, idleFds);
            long linesBefore = handler.logLines();
            long t0 = System.nanoTime();
            double held, churned;
            long peakThreads, peakFds, connects;
            try (SilentPeers peers = new SilentPeers(handler.socket, config.silent(), false)) {
                waitFor(() -> peers.connects() >= config.silent());
                out.printf("%d silent connections opened and held%n", config.silent());
                held = honestMicrosPerFault(handler, 3);
                peakThreads = handler.threads();
                peakFds = handler.descriptors();
            }
            try (SilentPeers peers = new SilentPeers(handler.socket, config.silent(), true)) {
                waitFor(() -> peers.connects() >= config.silent());
                churned = honestMicrosPerFault(handler, 3);
                peakThreads = Math.max(peakThreads, handler.threads());
                peakFds = Math.max(peakFds, handler.descriptors());
                connects = peers.connects();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            long lines = handler.logLines() - linesBefore;
            out.printf("under attack: %.1f us per fault held, %.1f us reconnecting (%d connects); at most %d threads, %d "
                    + "descriptors; %d log lines in %.1f s%n", held, churned, connects, peakThreads, peakFds, lines, seconds);
            rows.add(new Row("fault latency, " + config.silent() + " silent connections held", fmt(held) + " us",
                    fmt(idle) + " us idle", "<= 3x idle", held <= 3 * idle));
            rows.add(new Row("fault latency, the same reconnecting as dropped", fmt(churned) + " us (" + connects
                    + " connects)", fmt(idle) + " us idle", "(shares the 2 cores)", true));
            rows.add(new Row("handler threads / descriptors under attack", peakThreads + " / " + peakFds,
                    idleThreads + " / " + idleFds + " idle", "bounded", peakThreads <= idleThreads + 4
                    && peakFds <= idleFds + 2 * 256 + 16));
            rows.add(new Row("log lines per second under attack", fmt(lines / seconds), "-", "a few", lines / seconds <= 5));
            Thread.sleep(15_000);
            long afterThreads = handler.threads(), afterFds = handler.descriptors();
            rows.add(new Row("threads 15 s after the attack", Long.toString(afterThreads), idleThreads + " idle",
                    "within 10 % of idle", afterThreads <= idleThreads * 1.1));
            rows.add(new Row("descriptors 15 s after the attack", Long.toString(afterFds), idleFds + " idle",
                    "within 10 % of idle", afterFds <= idleFds * 1.1));
            try (SilentPeers peers = new SilentPeers(handler.socket, config.silent(), true)) {
                waitFor(() -> peers.connects() >= config.silent());
                long ms = handler.terminate();
                rows.add(new Row("SIGTERM under attack", ms < 0 ? "did not end" : ms + " ms", "-", "<= 5000 ms",
                        ms >= 0 && ms <= 5000));
            }
        }
    }

    /** Median over {@code runs} honest VMMs of the microseconds per first touch of 2,000 random pages. */
    private double honestMicrosPerFault(HandlerUnderTest handler, int runs) throws Exception {
        double[] us = new double[runs];
        for (int r = 0; r < runs; r++) {
            try (SimulatedVmm vmm = SimulatedVmm.start(handler.socket, Datasets.memoryFile(config.dataset()), 1)) {
                long[] pages = distinctRandomPages(vmm.pageCount(), config.pages(), r);
                long t0 = System.nanoTime();
                SimulatedVmm.TouchResult result = vmm.touch(pages, 1);
                us[r] = (System.nanoTime() - t0) / 1e3 / pages.length;
                if (!result.ok()) {
                    throw new IOException("honest VMM read wrong bytes: " + result);
                }
            }
        }
        Arrays.sort(us);
        return us[runs / 2];
    }

    private void bursts(Path memory) throws Exception {
        AtomicLong failures = new AtomicLong(), mismatches = new AtomicLong(), served = new AtomicLong();
        try (HandlerUnderTest handler = HandlerUnderTest.start(work, memory, "lazy");
             ExecutorService pool = Executors.newFixedThreadPool(config.burst())) {
            for (int done = 0; done < config.vmms(); done += config.burst()) {
                int n = Math.min(config.burst(), config.vmms() - done);
                List<Future<?>> burst = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    int seed = done + i;
                    burst.add(pool.submit(() -> {
                        try (SimulatedVmm vmm = SimulatedVmm.start(handler.socket, memory, 1)) {
                            SimulatedVmm.TouchResult r = vmm.touch(distinctRandomPages(vmm.pageCount(), config.pages(), seed), 1);
                            mismatches.addAndGet(r.mismatches());
                            served.incrementAndGet();
                        } catch (Exception e) {
                            failures.incrementAndGet();
                            out.println("honest VMM " + seed + " failed: " + e.getMessage());
                        }
                        return null;
                    }));
                }
                for (Future<?> f : burst) {
                    f.get();
                }
                out.printf("honest VMMs: %d of %d done (bursts of %d, %d pages each)%n", done + n, config.vmms(),
                        config.burst(), config.pages());
            }
        }
        rows.add(new Row(config.vmms() + " honest VMMs in bursts of " + config.burst(), served.get() + " served, "
                + failures.get() + " failed, " + mismatches.get() + " wrong pages", "-", "no failure, no mismatch",
                failures.get() == 0 && mismatches.get() == 0 && served.get() == config.vmms()));
    }

    private void sequentialSessions(PackPolicy policy) throws Exception {
        PackOptions options = PackOptions.defaults().withPolicy(policy, policy == PackPolicy.PAGE ? 1 : 16);
        Path snapshot = Datasets.packed(config.dataset(), options, Datasets.cacheDir().resolve("bench-handler"));
        Path memory = Datasets.memoryFile(config.dataset());
        try (HandlerUnderTest handler = HandlerUnderTest.start(work, snapshot, "lazy")) {
            long tenth = 0;
            for (int i = 1; i <= config.sessions(); i++) {
                try (SimulatedVmm vmm = SimulatedVmm.start(handler.socket, memory, 1)) {
                    SimulatedVmm.TouchResult r = vmm.touch(distinctRandomPages(vmm.pageCount(), 20, i), 1);
                    if (!r.ok()) {
                        throw new IOException("session " + i + " read wrong bytes: " + r);
                    }
                }
                if (i == 10) {
                    Thread.sleep(200);
                    tenth = handler.rssKiB();
                }
                if (i % 200 == 0) {
                    out.printf("policy %s: %d of %d sessions, handler RSS %d MiB%n", policy.label(), i, config.sessions(),
                            handler.rssKiB() >> 10);
                }
            }
            Thread.sleep(200);
            long last = handler.rssKiB();
            rows.add(new Row("RSS after " + config.sessions() + " sessions, policy " + policy.label(), (last >> 10) + " MiB",
                    (tenth >> 10) + " MiB after 10", "<= 1.2x", last <= tenth * 1.2));
        }
    }

    private static long[] distinctRandomPages(long pageCount, int n, long seed) {
        return new Random(seed).longs(0, pageCount).distinct().limit(n).toArray();
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 6000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
