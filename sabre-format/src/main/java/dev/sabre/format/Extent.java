package dev.sabre.format;

/**
 * A run of guest pages with one kind. For {@link PageKind#STORED}, page {@code firstPage + i} is slot
 * {@code slot + i} of frame {@code frame}; for {@link PageKind#COPY} it equals page {@code source + i}.
 */
public record Extent(long firstPage, int pageCount, PageKind kind, int frame, int slot, long source) {
    public long endPage() {
        return firstPage + pageCount;
    }

    public static Extent zero(long firstPage, int pageCount) {
        return new Extent(firstPage, pageCount, PageKind.ZERO, 0, 0, 0);
    }

    public static Extent stored(long firstPage, int pageCount, int frame, int slot) {
        return new Extent(firstPage, pageCount, PageKind.STORED, frame, slot, 0);
    }

    public static Extent copy(long firstPage, int pageCount, long source) {
        return new Extent(firstPage, pageCount, PageKind.COPY, 0, 0, source);
    }
}
