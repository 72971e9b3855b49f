package dev.sabre.bench.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Figure 9 as PNG: restore time against partition length, one line per layout and codec, log-log. */
final class RestorePlots {
    private RestorePlots() {}

    static void write(Path png, String title, List<RestoreBench.Row> rows, String cache) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(1100).height(620).title(title)
                .xAxisTitle("partition length (pages)").yAxisTitle("restore time (ms)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        Map<String, double[][]> series = new LinkedHashMap<>();
        List<RestoreBench.Row> sweep = rows.stream().filter(r -> r.set().equals("sparsity"))
                .filter(r -> r.cache().equals(cache) || r.cache().equals("memory") || r.layout().equals("lazy-4k-faults")).toList();
        for (RestoreBench.Row r : sweep) {
            String name = r.layout() + (r.codec().equals("none") ? "" : " " + r.codec());
            series.computeIfAbsent(name, k -> new double[2][0]);
            double[][] xy = series.get(name);
            xy[0] = append(xy[0], r.sparsity());
            xy[1] = append(xy[1], Math.max(r.restoreUs() / 1000.0, 0.001));
        }
        series.forEach((name, xy) -> chart.addSeries(name, xy[0], xy[1]).setMarker(SeriesMarkers.CIRCLE));
        Files.createDirectories(png.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static double[] append(double[] a, double v) {
        double[] b = java.util.Arrays.copyOf(a, a.length + 1);
        b[a.length] = v;
        return b;
    }
}
