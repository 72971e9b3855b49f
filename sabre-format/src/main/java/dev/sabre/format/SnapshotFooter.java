package dev.sabre.format;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The fixed 64-byte footer: where each metadata section starts and how many entries it holds, their
 * checksum, the footer's own checksum and the end magic. The one owner of the footer's layout: the
 * writer {@link #encode}s it, the reader {@link #decode}s and checks it (after Lucene's
 * CodecUtil.writeFooter / checkFooter), and FORMAT.md documents the same offsets.
 */
record SnapshotFooter(long frameTableOffset, long frameCount, long pageMapOffset, long extentCount,
                      long prefetchOffset, long prefetchCount, int metadataCrc) {
    static final int FRAME_TABLE_OFFSET = 0, FRAME_COUNT = 8, PAGE_MAP_OFFSET = 16, EXTENT_COUNT = 24,
            PREFETCH_OFFSET = 32, PREFETCH_COUNT = 40, METADATA_CRC = 48, FOOTER_CRC = 52, END_MAGIC = 56;

    /** Lays out the sections after the frames: the frame table at {@code frameTableOffset}, then the page map, then the prefetch runs. */
    static SnapshotFooter after(long frameTableOffset, long frameCount, long extentCount, long prefetchCount, int metadataCrc) {
        long mapAt = frameTableOffset + frameCount * SnapshotFormat.FRAME_ENTRY_SIZE;
        long prefetchAt = prefetchCount == 0 ? 0 : mapAt + extentCount * SnapshotFormat.EXTENT_ENTRY_SIZE;
        return new SnapshotFooter(frameTableOffset, frameCount, mapAt, extentCount, prefetchAt, prefetchCount, metadataCrc);
    }

    /** Where the page map ends: the prefetch runs' start when there are any, else the footer's. */
    long pageMapEnd() {
        return pageMapOffset + extentCount * SnapshotFormat.EXTENT_ENTRY_SIZE;
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SnapshotFormat.FOOTER_SIZE).order(SnapshotFormat.ORDER);
        b.putLong(frameTableOffset).putLong(frameCount).putLong(pageMapOffset).putLong(extentCount)
                .putLong(prefetchOffset).putLong(prefetchCount).putInt(metadataCrc);
        b.putInt(SnapshotHeader.crc(b.array(), 0, FOOTER_CRC)).putLong(SnapshotFormat.END_MAGIC);
        return b.array();
    }

    /**
     * Checks the footer read at {@code footerAt} (the file's last 64 bytes): end magic, checksum, then that
     * the sections lie back to back from the frame table to the footer with counts that fit, checked in an
     * order that cannot overflow. The metadata checksum is the reader's to check, once it has the bytes.
     */
    static SnapshotFooter decode(Path file, ByteBuffer footer, long footerAt) throws CorruptSnapshotException {
        if (footer.getLong(END_MAGIC) != SnapshotFormat.END_MAGIC) {
            throw new CorruptSnapshotException(file, "footer end magic missing at offset %d (file truncated or extended?)"
                    .formatted(footerAt + END_MAGIC));
        }
        int computed = SnapshotHeader.crc(footer.array(), footer.arrayOffset(), FOOTER_CRC);
        if (footer.getInt(FOOTER_CRC) != computed) {
            throw new CorruptSnapshotException(file, "footer checksum mismatch at offset %d (stored 0x%08x, computed 0x%08x)"
                    .formatted(footerAt + FOOTER_CRC, footer.getInt(FOOTER_CRC), computed));
        }
        SnapshotFooter f = new SnapshotFooter(footer.getLong(FRAME_TABLE_OFFSET), footer.getLong(FRAME_COUNT),
                footer.getLong(PAGE_MAP_OFFSET), footer.getLong(EXTENT_COUNT), footer.getLong(PREFETCH_OFFSET),
                footer.getLong(PREFETCH_COUNT), footer.getInt(METADATA_CRC));
        if (f.frameTableOffset < SnapshotFormat.HEADER_SIZE || f.frameTableOffset > footerAt) {
            throw new CorruptSnapshotException(file, "footer field frame_table_offset is %d, outside the file's sections %d..%d"
                    .formatted(f.frameTableOffset, SnapshotFormat.HEADER_SIZE, footerAt));
        }
        checkCount(file, "frame_count", f.frameCount, SnapshotFormat.FRAME_ENTRY_SIZE, footerAt - f.frameTableOffset);
        long mapAt = f.frameTableOffset + f.frameCount * SnapshotFormat.FRAME_ENTRY_SIZE;
        if (f.pageMapOffset != mapAt || f.pageMapOffset > footerAt) {
            throw new CorruptSnapshotException(file, "footer field page_map_offset is %d, expected %d"
                    .formatted(f.pageMapOffset, Math.min(mapAt, footerAt)));
        }
        checkCount(file, "extent_count", f.extentCount, SnapshotFormat.EXTENT_ENTRY_SIZE, footerAt - f.pageMapOffset);
        long mapEnd = f.pageMapEnd();
        if (f.prefetchCount == 0 ? f.prefetchOffset != 0 : f.prefetchOffset != mapEnd) {
            throw new CorruptSnapshotException(file, "footer field prefetch_offset is %d, expected %d"
                    .formatted(f.prefetchOffset, f.prefetchCount == 0 ? 0 : mapEnd));
        }
        checkCount(file, "prefetch_count", f.prefetchCount, SnapshotFormat.PREFETCH_ENTRY_SIZE, footerAt - mapEnd);
        long metadataEnd = mapEnd + f.prefetchCount * SnapshotFormat.PREFETCH_ENTRY_SIZE;
        if (metadataEnd != footerAt) {
            throw new CorruptSnapshotException(file, "sections end at offset %d but the footer starts at %d (file truncated or extended?)"
                    .formatted(metadataEnd, footerAt));
        }
        return f;
    }

    private static void checkCount(Path file, String field, long count, int entrySize, long room)
            throws CorruptSnapshotException {
        if (count < 0 || count > room / entrySize || count > Integer.MAX_VALUE) {
            throw new CorruptSnapshotException(file, "footer field %s is %d, more entries than the %d bytes before the footer can hold"
                    .formatted(field, count, room));
        }
    }
}
