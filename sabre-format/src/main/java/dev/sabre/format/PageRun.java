package dev.sabre.format;

/** A run of consecutive guest pages; the prefetch order is a list of these. */
public record PageRun(long firstPage, int pageCount) {
    public long endPage() {
        return firstPage + pageCount;
    }
}
