package dev.sabre.format;

import dev.sabre.codec.CodecId;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The fixed 64-byte header: what the snapshot is (page size, memory size) and how it was packed
 * (codec, level, policy, frame bound), plus a random id that names this snapshot in reports.
 */
public record SnapshotHeader(int version, int pageSize, long memorySize, CodecId codec, int level,
                             int framePages, PackPolicy policy, long idHigh, long idLow) {

    public long pageCount() {
        return memorySize / pageSize;
    }

    public String idHex() {
        return "%016x%016x".formatted(idHigh, idLow);
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SnapshotFormat.HEADER_SIZE).order(SnapshotFormat.ORDER);
        b.putLong(SnapshotFormat.MAGIC).putInt(version).putInt(pageSize).putLong(memorySize)
                .putInt(codec.wireId()).putInt(level).putInt(framePages).putInt(policy.wire())
                .putLong(idHigh).putLong(idLow).putInt(0);
        b.putInt(crc(b.array(), 0, 60));
        return b.array();
    }

    static SnapshotHeader decode(Path file, byte[] bytes) throws CorruptSnapshotException {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(SnapshotFormat.ORDER);
        long magic = b.getLong(0);
        if (magic != SnapshotFormat.MAGIC) {
            throw new CorruptSnapshotException(file, "not a Sabre snapshot (header magic at offset 0 is 0x%016x, expected 0x%016x)"
                    .formatted(magic, SnapshotFormat.MAGIC));
        }
        int version = b.getInt(8);
        if (version < SnapshotFormat.VERSION_START || version > SnapshotFormat.VERSION_CURRENT) {
            throw new CorruptSnapshotException(file, "header field version (offset 8) is %d; this reader supports %d..%d"
                    .formatted(version, SnapshotFormat.VERSION_START, SnapshotFormat.VERSION_CURRENT));
        }
        int stored = b.getInt(60);
        int actual = crc(bytes, 0, 60);
        if (stored != actual) {
            throw new CorruptSnapshotException(file, "header checksum mismatch (offset 60: stored 0x%08x, computed 0x%08x)"
                    .formatted(stored, actual));
        }
        int pageSize = b.getInt(12);
        if (pageSize < SnapshotFormat.MIN_PAGE_SIZE || pageSize > SnapshotFormat.MAX_PAGE_SIZE || Integer.bitCount(pageSize) != 1) {
            throw new CorruptSnapshotException(file, "header field page_size (offset 12) is %d, not a power of two in %d..%d"
                    .formatted(pageSize, SnapshotFormat.MIN_PAGE_SIZE, SnapshotFormat.MAX_PAGE_SIZE));
        }
        long memorySize = b.getLong(16);
        if (memorySize <= 0 || memorySize > SnapshotFormat.MAX_MEMORY_SIZE || memorySize % pageSize != 0) {
            throw new CorruptSnapshotException(file, "header field memory_size (offset 16) is %d, not a positive multiple of the page size up to 2^48"
                    .formatted(memorySize));
        }
        CodecId codec = CodecId.fromWireId(b.getInt(24));
        if (codec == null) {
            throw new CorruptSnapshotException(file, "header field codec (offset 24) is %d, an unknown codec".formatted(b.getInt(24)));
        }
        int level = b.getInt(28);
        if (level < codec.minLevel() || level > codec.maxLevel()) {
            throw new CorruptSnapshotException(file, "header field level (offset 28) is %d, outside %s's %d..%d"
                    .formatted(level, codec.label(), codec.minLevel(), codec.maxLevel()));
        }
        int framePages = b.getInt(32);
        if (framePages <= 0 || (long) framePages * pageSize > SnapshotFormat.MAX_FRAME_BYTES) {
            throw new CorruptSnapshotException(file, "header field frame_pages (offset 32) is %d; frames must hold 1 page to 256 MiB"
                    .formatted(framePages));
        }
        PackPolicy policy = PackPolicy.fromWire(b.getInt(36));
        if (policy == null) {
            throw new CorruptSnapshotException(file, "header field policy (offset 36) is %d, unknown".formatted(b.getInt(36)));
        }
        if (b.getInt(56) != 0) {
            throw new CorruptSnapshotException(file, "header field flags (offset 56) is 0x%x; this reader knows no flags".formatted(b.getInt(56)));
        }
        return new SnapshotHeader(version, pageSize, memorySize, codec, level, framePages, policy, b.getLong(40), b.getLong(48));
    }

    static int crc(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }
}
