package dev.sabre.store;

import dev.sabre.codec.CodecId;
import java.util.ArrayList;
import java.util.List;

/**
 * What one pack holds (STORE.md, "Pack index"): its frames and the SHA-256 of every page slot in
 * them, in slot order. A push reads the indexes of a store to find the pages it already holds; a
 * restore never needs them (the manifest carries the frames it uses).
 */
public record PackIndex(String pack, long packSize, int pageSize, CodecId codec, int level, List<StoredFrame> frames,
                        byte[] pageHashes) {
    /** The bytes {@code SABREIDX}. */
    static final long MAGIC = Wire.magic("SABREIDX");
    static final int VERSION = 1;
    /** No frame holds more pages than this (16 MiB of 4 KiB pages). */
    static final int MAX_FRAME_PAGES = 4096;

    public int slotCount() {
        return pageHashes.length / Hashes.LENGTH;
    }

    byte[] encode() {
        Wire.Writer w = new Wire.Writer().u64(MAGIC).u32(VERSION).u32(pageSize).u32(codec.wireId()).u32(level)
                .bytes(Hashes.parse(pack)).u64(packSize).u32(frames.size()).u32(slotCount());
        frames.forEach(f -> f.write(w));
        return w.bytes(pageHashes).toByteArray();
    }

    /** Decodes and checks an index whose bytes already matched their name's hash. */
    static PackIndex decode(String object, byte[] data) throws CorruptObjectException {
        Wire.Reader r = new Wire.Reader(object, data);
        if (r.u64() != MAGIC) {
            throw r.corrupt("not a pack index (wrong magic)");
        }
        int version = r.u32();
        if (version != VERSION) {
            throw r.corrupt("pack index version " + version + " is not supported (this reader knows " + VERSION + ")");
        }
        int pageSize = Manifest.checkPageSize(r, r.u32());
        int codecWire = r.u32();
        int level = r.u32();
        CodecId codec = Manifest.checkCodec(r, codecWire, level);
        String pack = Hashes.hex(r.bytes(Hashes.LENGTH));
        long packSize = r.u64();
        int frameCount = r.count(Integer.toUnsignedLong(r.u32()), StoredFrame.BYTES, "frame count");
        long slots = Integer.toUnsignedLong(r.u32());
        List<StoredFrame> frames = new ArrayList<>(frameCount);
        long expectedOffset = 0;
        long slotSum = 0;
        for (int i = 0; i < frameCount; i++) {
            StoredFrame f = StoredFrame.read(r, "frame " + i, pageSize, MAX_FRAME_PAGES);
            if (f.offset() != expectedOffset) {
                throw r.corrupt("frame " + i + ": offset " + f.offset() + " is not " + expectedOffset + " (frames lie back to back)");
            }
            expectedOffset = f.end();
            slotSum += f.pageCount();
            frames.add(f);
        }
        if (expectedOffset != packSize) {
            throw r.corrupt("frames end at " + expectedOffset + " but the pack holds " + packSize + " bytes");
        }
        if (slots != slotSum) {
            throw r.corrupt("slot count " + slots + " is not the frames' " + slotSum + " pages");
        }
        byte[] hashes = r.bytes(r.count(slots, Hashes.LENGTH, "slot count") * Hashes.LENGTH);
        r.end();
        return new PackIndex(pack, packSize, pageSize, codec, level, List.copyOf(frames), hashes);
    }
}
