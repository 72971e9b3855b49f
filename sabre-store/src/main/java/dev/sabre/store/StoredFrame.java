package dev.sabre.store;

/**
 * One frame inside a pack: {@code pageCount} pages, stored at {@code offset} for {@code storedLength}
 * bytes, compressed with the store's codec or kept raw, and the SHA-256 of the stored bytes (checked
 * before they are decoded). Written the same way in a pack index and a manifest (52 bytes, STORE.md).
 */
public record StoredFrame(long offset, int storedLength, int pageCount, boolean compressed, byte[] sha256) {
    static final int BYTES = 8 + 4 + 4 + 4 + Hashes.LENGTH;
    /** No frame decodes to more than this, whatever a manifest claims (as in FORMAT.md). */
    static final long MAX_RAW_BYTES = 256L << 20;

    void write(Wire.Writer w) {
        w.u64(offset).u32(storedLength).u32(pageCount).u32(compressed ? 1 : 0).bytes(sha256);
    }

    /** Reads and checks one frame entry; {@code what} names it in errors, {@code maxPages} bounds its pages. */
    static StoredFrame read(Wire.Reader r, String what, int pageSize, int maxPages) throws CorruptObjectException {
        long offset = r.u64();
        int stored = r.u32();
        int pages = r.u32();
        int encoding = r.u32();
        byte[] sha = r.bytes(Hashes.LENGTH);
        if (offset < 0) {
            throw r.corrupt(what + ": offset " + offset + " is negative");
        }
        if (pages < 1 || pages > maxPages) {
            throw r.corrupt(what + ": page count " + Integer.toUnsignedString(pages) + " is outside 1.." + maxPages);
        }
        long raw = (long) pages * pageSize;
        if (raw > MAX_RAW_BYTES) {
            throw r.corrupt(what + ": " + pages + " pages of " + pageSize + " bytes exceed the " + (MAX_RAW_BYTES >> 20) + " MiB frame bound");
        }
        if (encoding == 0 ? stored != raw : encoding != 1 || stored < 1 || stored >= raw) {
            throw r.corrupt(what + ": stored length " + Integer.toUnsignedString(stored) + " does not fit encoding "
                    + Integer.toUnsignedString(encoding) + " of " + raw + " raw bytes");
        }
        return new StoredFrame(offset, stored, pages, encoding == 1, sha);
    }

    long end() {
        return offset + storedLength;
    }
}
