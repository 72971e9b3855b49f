package dev.sabre.format;

import java.util.Locale;

/**
 * How stored pages are grouped into frames. Frames never exceed the frame bound
 * ({@link PackOptions#framePages()}) or {@link SnapshotFormat#MAX_FRAME_BYTES}.
 */
public enum PackPolicy {
    /** One frame per maximal run of contiguous stored pages, split at the bound (Sabre's "scattered"). */
    PARTITION,
    /** One stream over every stored page (Sabre's "single"), split only at the format's 256 MiB maximum. */
    SINGLE,
    /** Frames of exactly the bound's number of stored pages, contiguous or not (the last may be shorter). */
    FIXED,
    /** Every page its own frame: the fastest random access for lazy faults. */
    PAGE,
    /** No compression (Sabre's "passthrough"): frames are the raw pages, grouped like PARTITION. */
    PASSTHROUGH;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static PackPolicy parse(String name) {
        for (PackPolicy p : values()) {
            if (p.label().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown policy '" + name
                + "' (expected one of partition, single, fixed, page, passthrough)");
    }

    int wire() {
        return ordinal();
    }

    static PackPolicy fromWire(int wire) {
        return wire >= 0 && wire < values().length ? values()[wire] : null;
    }
}
