package dev.sabre.cli;

import dev.sabre.format.Progress;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress on stderr: a line redrawn in place on a terminal, a line every few seconds otherwise (logs,
 * CI), nothing for work that ends within half a second.
 */
public final class ProgressBar implements Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private long lastPrint;
    private String lastPhase = "";
    private boolean drawn;

    public ProgressBar(PrintStream out) {
        this.out = out;
        this.terminal = System.console() != null && System.getenv("CI") == null;
    }

    @Override
    public synchronized void update(String phase, long done, long total) {
        long now = System.nanoTime();
        long interval = terminal ? 100_000_000L : 5_000_000_000L;
        boolean finished = done >= total;
        if (now - start < 500_000_000L || (!finished && now - lastPrint < interval && phase.equals(lastPhase))) {
            return;
        }
        if (finished && !drawn) {
            return;
        }
        lastPrint = now;
        lastPhase = phase;
        drawn = true;
        double fraction = total <= 0 ? 1 : Math.min(1, (double) done / total);
        String line = String.format(Locale.ROOT, "%-9s %5.1f%%  %s of %s", phase, fraction * 100, Units.bytes(done), Units.bytes(total));
        if (terminal) {
            out.print("\r" + line + "   ");
            if (finished) {
                out.println();
            }
        } else {
            out.println(line);
        }
        out.flush();
    }
}
