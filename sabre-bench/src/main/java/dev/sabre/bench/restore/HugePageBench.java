package dev.sabre.bench.restore;

import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import dev.sabre.handler.SessionReport;
import dev.sabre.handler.Strategy;
import dev.sabre.linux.HugePages;
import dev.sabre.linux.Memory;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Huge pages against 4 KiB pages in one run: a real handler serves the real memory to a simulated VMM on
 * each page size, which touches the same working set, and the table shows what huge pages trade: faults
 * (one per 2 MiB instead of one per 4 KiB) against the memory the VM ends up with (installed bytes: a touched
 * huge page costs 2 MiB, zeros included), plus the time to touch the set and the fault service time. The
 * host's huge pages are reserved for the run and given back.
 */
final class HugePageBench {
    private static final long PAGE = 4096;

    record Row(String set, String source, Strategy strategy, long guestPageSize, long touchUs, SessionReport report) {
        String csv() {
            return String.join(",", set, source, strategy.label(), Long.toString(guestPageSize), Long.toString(touchUs),
                    Long.toString(report.faults()), Long.toString(report.bytesInstalled()),
                    String.format(Locale.ROOT, "%.1f", report.p50Us()), Long.toString(report.bytesRead()));
        }

        static String csvHeader() {
            return "set,source,strategy,guest_page_size,touch_us,faults,installed_bytes,fault_p50_us,bytes_read";
        }
    }

    private HugePageBench() {}

    /**
     * {@code pages} 4 KiB pages of {@code memoryFile} touched under lazy (raw file and zstd snapshot) and sabre
     * (zstd snapshot), on 4 KiB and on 2 MiB guest pages; twice: pages picked at random (no locality, the worst
     * case for huge pages) and in runs of 64 consecutive pages at random places (locality like a real working
     * set's).
     */
    static List<Row> run(Path memoryFile, Path work, int pages, PrintStream progress) throws Exception {
        long size = Files.size(memoryFile);
        Path snapshot = work.resolve("huge-pages-zstd.sabre");
        try (MemoryImage image = MemoryImage.open(memoryFile, (int) PAGE, null)) {
            Packer.pack(image, snapshot, PackOptions.defaults().withPolicy(PackPolicy.FIXED, 16), null);
        }
        long pageCount = size / PAGE;
        long[] random = new Random(42).longs(pages, 0, pageCount).toArray();
        long[] runs = new long[pages];
        Random starts = new Random(43);
        for (int i = 0; i < pages; i += 64) {
            long start = starts.nextLong(pageCount - 64);
            for (int j = i; j < Math.min(pages, i + 64); j++) {
                runs[j] = start + (j - i);
            }
        }
        List<Row> rows = new ArrayList<>();
        try (HugePages reserved = HugePages.reserve(size / HugePages.SIZE)) {
            for (Object[] set : new Object[][] {{"random", random}, {"runs64", runs}}) {
                for (Object[] c : new Object[][] {{"raw", memoryFile, Strategy.LAZY}, {"zstd", snapshot, Strategy.LAZY},
                        {"zstd", snapshot, Strategy.SABRE}}) {
                    for (long guestPageSize : new long[] {Memory.pageSize(), HugePages.SIZE}) {
                        progress.printf("huge pages: %s from %s on %d KiB pages, %d %s pages%n", c[2], c[0],
                                guestPageSize >> 10, pages, set[0]);
                        Baselines.Lazy served = Baselines.served((Path) c[1], memoryFile, (Strategy) c[2], guestPageSize,
                                (long[]) set[1], work);
                        rows.add(new Row((String) set[0], (String) c[0], (Strategy) c[2], guestPageSize,
                                served.totalUs(), served.report()));
                    }
                }
            }
        } finally {
            Files.deleteIfExists(snapshot);
        }
        return rows;
    }

    /** The table, with each 2 MiB row's ratios against the 4 KiB row before it. */
    static void print(List<Row> rows, PrintStream out) {
        out.printf("%-7s %-5s %-8s %4s %9s %8s %13s %11s %14s %15s%n", "set", "from", "strategy", "page", "touch_ms", "faults",
                "installed_MiB", "fault_p50_us", "faults_vs_4K", "installed_vs_4K");
        Row base = null;
        for (Row r : rows) {
            boolean huge = r.guestPageSize() == HugePages.SIZE;
            base = huge ? base : r;
            out.printf(Locale.ROOT, "%-7s %-5s %-8s %4s %9.1f %8d %13.1f %11.1f %14s %15s%n", r.set(), r.source(),
                    r.strategy(),
                    huge ? "2M" : "4K", r.touchUs() / 1000.0, r.report().faults(), r.report().bytesInstalled() / 1048576.0,
                    r.report().p50Us(), huge && base != null ? ratio(r.report().faults(), base.report().faults()) : "",
                    huge && base != null ? ratio(r.report().bytesInstalled(), base.report().bytesInstalled()) : "");
        }
    }

    private static String ratio(long value, long base) {
        return base == 0 ? "-" : String.format(Locale.ROOT, "%.3fx", (double) value / base);
    }
}
