package dev.sabre.format;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads page lists: the text files that name a working set or a prefetch order.
 *
 * <p>One entry per line, in order: a page number ({@code 4711} or {@code 0x1267}), an inclusive range
 * ({@code 100-163}) or a start and count ({@code 100+64}). Blank lines and text after {@code #} are
 * ignored. Page numbers, not byte addresses: page N covers bytes N x page size onwards.
 */
public final class PageList {
    private PageList() {
    }

    public static List<PageRun> read(Path file) throws IOException {
        List<PageRun> runs = new ArrayList<>();
        int lineNumber = 0;
        for (String raw : Files.readAllLines(file)) {
            lineNumber++;
            String line = raw.replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            try {
                PageRun run;
                int dash = line.indexOf('-');
                int plus = line.indexOf('+');
                if (dash > 0) {
                    long first = number(line.substring(0, dash));
                    long last = number(line.substring(dash + 1));
                    if (last < first) {
                        throw new IllegalArgumentException("range ends before it starts");
                    }
                    run = run(first, last - first + 1);
                } else if (plus > 0) {
                    run = run(number(line.substring(0, plus)), number(line.substring(plus + 1)));
                } else {
                    run = run(number(line), 1);
                }
                if (!runs.isEmpty() && runs.getLast().endPage() == run.firstPage()
                        && (long) runs.getLast().pageCount() + run.pageCount() <= Integer.MAX_VALUE) {
                    PageRun last = runs.removeLast();
                    run = new PageRun(last.firstPage(), last.pageCount() + run.pageCount());
                }
                runs.add(run);
            } catch (IllegalArgumentException e) {
                throw new IOException("%s:%d: '%s' is not a page, range (A-B) or run (A+N): %s"
                        .formatted(file, lineNumber, raw.trim(), e.getMessage()));
            }
        }
        return runs;
    }

    private static PageRun run(long first, long count) {
        if (count <= 0 || count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("count " + count + " is outside 1..2^31-1");
        }
        return new PageRun(first, (int) count);
    }

    private static long number(String text) {
        String t = text.trim();
        try {
            long value = t.startsWith("0x") || t.startsWith("0X") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
            if (value < 0) {
                throw new IllegalArgumentException("negative page number");
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + t + "' is not a number");
        }
    }
}
