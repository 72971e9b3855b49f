package dev.sabre.codec;

/**
 * The compression algorithms a snapshot can name. The wire id is what the file format stores, so it
 * never changes once released; levels are validated here so every backend agrees on what is legal.
 */
public enum CodecId {
    /** No compression: frames hold the raw page bytes. */
    NONE(0, "none", 0, 0, 0),
    /** Zstandard; levels 1 (fast) to 22 (smallest), 3 is libzstd's default. */
    ZSTD(1, "zstd", 1, 22, 3),
    /** LZ4 block format; the level is LZ4's "acceleration" (1 = best ratio, higher = faster). */
    LZ4(2, "lz4", 1, 65537, 1),
    /** Raw DEFLATE (RFC 1951), the algorithm of the original Sabre and of Intel IAA; levels 1-12. */
    DEFLATE(3, "deflate", 1, 12, 6);

    private final int wireId;
    private final String label;
    private final int minLevel;
    private final int maxLevel;
    private final int defaultLevel;

    CodecId(int wireId, String label, int minLevel, int maxLevel, int defaultLevel) {
        this.wireId = wireId;
        this.label = label;
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
        this.defaultLevel = defaultLevel;
    }

    public int wireId() {
        return wireId;
    }

    /** The lower-case name used on the command line and in reports. */
    public String label() {
        return label;
    }

    public int minLevel() {
        return minLevel;
    }

    public int maxLevel() {
        return maxLevel;
    }

    public int defaultLevel() {
        return defaultLevel;
    }

    /** Throws IllegalArgumentException naming the legal range when {@code level} is out of it. */
    public int checkLevel(int level) {
        if (level < minLevel || level > maxLevel) {
            throw new IllegalArgumentException(
                    "%s level %d is out of range %d..%d".formatted(label, level, minLevel, maxLevel));
        }
        return level;
    }

    /** The codec with this wire id, or null when the id is unknown (the caller names the file at fault). */
    public static CodecId fromWireId(int wireId) {
        for (CodecId id : values()) {
            if (id.wireId == wireId) {
                return id;
            }
        }
        return null;
    }

    /** Parses a command-line name such as "zstd" (case-insensitive). */
    public static CodecId parse(String name) {
        for (CodecId id : values()) {
            if (id.label.equalsIgnoreCase(name)) {
                return id;
            }
        }
        throw new IllegalArgumentException("unknown codec '" + name + "' (expected one of none, zstd, lz4, deflate)");
    }
}
