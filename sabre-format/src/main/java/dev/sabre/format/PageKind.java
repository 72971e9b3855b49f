package dev.sabre.format;

/** What the page map says about one guest page. Pages covered by no extent are {@link #ABSENT}. */
public enum PageKind {
    /** Not in this snapshot (a Diff or working-set snapshot leaves it to the base memory). */
    ABSENT(0),
    /** All bytes zero; stored as nothing. */
    ZERO(1),
    /** Stored in a frame. */
    STORED(2),
    /** Byte-identical to another, stored page. */
    COPY(3);

    final int wire;

    PageKind(int wire) {
        this.wire = wire;
    }

    static PageKind fromWire(int wire) {
        return switch (wire) {
            case 1 -> ZERO;
            case 2 -> STORED;
            case 3 -> COPY;
            default -> null;
        };
    }
}
