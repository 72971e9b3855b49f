package dev.sabre.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Statistics, the table and the target check on synthetic measurements. */
@Timeout(60)
class ReportTest {
    @Test
    void statsGiveMedianQuartilesAndRange() {
        Stats s = Stats.of(List.of(5L, 1L, 3L, 2L, 4L));
        assertEquals(3, s.median());
        assertEquals(2, s.p25());
        assertEquals(4, s.p75());
        assertEquals(1, s.min());
        assertEquals(5, s.max());
        assertEquals(2.5, Stats.of(List.of(2L, 3L)).median());
    }

    @Test
    void targetsCompareMedians() {
        List<Measurement> rows = new ArrayList<>();
        for (int rep = 1; rep <= 3; rep++) {
            rows.add(row("file", rep, 500_000, 0));
            rows.add(row("lazy", rep, 1_000_000, 0));
            rows.add(row("reap", rep, 450_000, 9 << 20));
            rows.add(row("reap-compressed", rep, 400_000, 3 << 20));
        }
        String targets = Report.targets(rows);
        assertTrue(targets.contains("-60.0% vs lazy 1000.0 ms (target <= -30%: met)"), targets);
        assertTrue(targets.contains("-11.1% vs reap 450.0 ms (target < 0%: met)"), targets);
        assertTrue(targets.contains("-20.0% vs file 500.0 ms (target <= 0%: met)"), targets);
        assertTrue(targets.contains("= 0.33 (target <= 0.33: met)"), targets);
        assertTrue(targets.contains("lower than reap in 3 of 3 rounds"), targets);
        String table = Report.table(rows);
        assertEquals(2 + 4, table.lines().count(), table);
        assertTrue(table.contains("400.0 [400.0-400.0]"), table);
    }

    @Test
    void roundsWonPairRepetitions() {
        List<Measurement> rows = new ArrayList<>();
        long[] reap = {400_000, 500_000, 300_000, 450_000};
        long[] compressed = {390_000, 510_000, 290_000, 460_000};
        for (int rep = 1; rep <= reap.length; rep++) {
            rows.add(row("reap", rep, reap[rep - 1], 9 << 20));
            rows.add(row("reap-compressed", rep, compressed[rep - 1], 3 << 20));
        }
        String targets = Report.targets(rows);
        assertTrue(targets.contains("lower than reap in 2 of 4 rounds"), targets);
    }

    @Test
    void hugePageRowsStandApartAndLazyFaultsAreCompared() throws Exception {
        List<Measurement> rows = new ArrayList<>();
        for (int rep = 1; rep <= 3; rep++) {
            rows.add(row("lazy", 4096, rep, 2400, 10 << 20));
            rows.add(row("lazy", 2 << 20, rep, 60, 120 << 20));
            rows.add(row("eager", 4096, rep, 0, 200 << 20));
            rows.add(row("eager", 2 << 20, rep, 0, 256 << 20));
        }
        String targets = Report.targets(rows);
        assertTrue(targets.contains("f: lazy faults on 2M pages 60 vs 2400 on 4K = 0.025 (target <= 0.10: met)"), targets);
        String table = Report.table(rows);
        assertEquals(2 + 4, table.lines().count(), table);
        assertTrue(table.lines().anyMatch(l -> l.matches("f +lazy +2M .* 60 +- +120\\.0")), table);
        assertTrue(table.lines().anyMatch(l -> l.matches("f +eager +4K .* 0 +- +200\\.0")), table);
        Path csv = Files.createTempFile("sabre-report-", ".csv");
        try {
            Report.writeCsv(csv, rows);
            List<String> lines = Files.readAllLines(csv);
            assertTrue(lines.getFirst().contains(",page_size,") && lines.getFirst().contains(",installed_bytes,"), lines.getFirst());
            assertTrue(lines.get(2).startsWith("f,qemu,lazy,2097152,1,"), lines.get(2));
        } finally {
            Files.deleteIfExists(csv);
        }
    }

    private static Measurement row(String strategy, long pageSize, int rep, long faults, long installed) {
        return new Measurement("f", "qemu", strategy, pageSize, rep, 100_000, 500_000, 100 << 20, 0, "cold", faults, 0,
                installed, -1, "ok");
    }

    private static Measurement row(String strategy, int rep, long cold, long ws) {
        return new Measurement("f", "qemu", strategy, 4096, rep, 100_000, cold, 100 << 20, ws, "cold", -1, -1, -1, -1, "ok");
    }
}
