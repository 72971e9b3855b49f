package dev.sabre.format;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A run of consecutive guest pages; the prefetch order is a list of these. */
public record PageRun(long firstPage, int pageCount) {
    public long endPage() {
        return firstPage + pageCount;
    }

    /**
     * The same pages in address order: sorted, each page once, touching runs merged. Neighbouring guest pages
     * resemble each other (a library's code, a heap's objects), so a working set compresses better in this
     * order than in the order it was touched.
     */
    public static List<PageRun> inAddressOrder(List<PageRun> runs) {
        List<PageRun> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingLong(PageRun::firstPage));
        List<PageRun> merged = new ArrayList<>();
        long start = -1, end = -1;
        for (PageRun run : sorted) {
            if (run.pageCount() <= 0) {
                continue;
            }
            if (start >= 0 && run.firstPage() <= end && Math.max(end, run.endPage()) - start <= Integer.MAX_VALUE) {
                end = Math.max(end, run.endPage());
                continue;
            }
            if (start >= 0) {
                merged.add(new PageRun(start, (int) (end - start)));
            }
            start = run.firstPage();
            end = run.endPage();
        }
        if (start >= 0) {
            merged.add(new PageRun(start, (int) (end - start)));
        }
        return merged;
    }
}
