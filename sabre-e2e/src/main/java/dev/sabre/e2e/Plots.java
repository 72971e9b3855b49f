package dev.sabre.e2e;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * PNG figures of an end-to-end run with XChart, after the paper's: per function, restore and cold start per
 * strategy stacked into the total (figures 11 and 12); cold start of every function per strategy; and the
 * sizes on disk of the memory, the .sabre snapshot and the raw and compressed working sets (table 2).
 */
public final class Plots {
    private Plots() {
    }

    /** Writes the figures into {@code dir} and returns their paths. */
    public static List<Path> write(Path dir, List<Measurement> measurements, List<FunctionSnapshot> snapshots)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        List<Report.Row> rows = Report.rows(measurements);
        Map<String, List<Report.Row>> byFunction = new LinkedHashMap<>();
        rows.forEach(r -> byFunction.computeIfAbsent(r.function(), k -> new ArrayList<>()).add(r));

        for (var e : byFunction.entrySet()) {
            List<String> strategies = e.getValue().stream().map(Report.Row::label).toList();
            CategoryChart chart = chart(e.getKey() + ": VM restore + cold start (medians)", "strategy", "ms");
            chart.getStyler().setStacked(true);
            chart.addSeries("VM restore", strategies, e.getValue().stream().map(r -> r.restore().median() / 1000).toList());
            chart.addSeries("cold start (first invocation)", strategies,
                    e.getValue().stream().map(r -> r.coldStart().median() / 1000).toList());
            written.add(save(chart, dir.resolve("e2e-" + e.getKey() + ".png")));
        }

        List<String> functions = List.copyOf(byFunction.keySet());
        LinkedHashSet<String> strategies = new LinkedHashSet<>();
        rows.forEach(r -> strategies.add(r.label()));
        CategoryChart cold = chart("Cold start by strategy (medians)", "function", "ms");
        for (String strategy : strategies) {
            List<Double> values = new ArrayList<>();
            for (String f : functions) {
                values.add(byFunction.get(f).stream().filter(r -> r.label().equals(strategy))
                        .mapToDouble(r -> r.coldStart().median() / 1000).findFirst().orElse(Double.NaN));
            }
            cold.addSeries(strategy, functions, values);
        }
        written.add(save(cold, dir.resolve("e2e-cold-start.png")));

        if (!snapshots.isEmpty()) {
            List<String> names = snapshots.stream().map(FunctionSnapshot::function).toList();
            CategoryChart sizes = chart("Sizes on disk", "function", "MiB");
            sizes.addSeries("memory file", names, snapshots.stream().map(s -> mib(s.memoryFileBytes())).toList());
            sizes.addSeries(".sabre (zstd)", names, snapshots.stream().map(s -> mib(FunctionSnapshot.size(s.sabreFile()))).toList());
            sizes.addSeries("working set, raw", names,
                    snapshots.stream().map(s -> mib(FunctionSnapshot.size(s.rawWorkingSet()))).toList());
            sizes.addSeries("working set, compressed", names,
                    snapshots.stream().map(s -> mib(FunctionSnapshot.size(s.compressedWorkingSet()))).toList());
            written.add(save(sizes, dir.resolve("e2e-sizes.png")));
        }
        return written;
    }

    private static double mib(long bytes) {
        return bytes <= 0 ? Double.NaN : bytes / 1048576.0;
    }

    private static CategoryChart chart(String title, String x, String y) {
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(560).title(title).xAxisTitle(x).yAxisTitle(y).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
        chart.getStyler().setAvailableSpaceFill(0.8);
        return chart;
    }

    private static Path save(CategoryChart chart, Path png) throws IOException {
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }
}
