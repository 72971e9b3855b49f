package dev.sabre.format;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Edits a snapshot's bytes the way a hostile or buggy writer would, then (optionally) repairs every
 * checksum so the reader's structural checks, not its CRCs, must catch the damage.
 */
final class SnapshotSurgeon {
    final ByteBuffer bytes;
    /** Where the metadata and footer were before any edit: checksums are recomputed over these ranges. */
    private final int metadataAt;
    private final int originalFooterAt;

    SnapshotSurgeon(Path file) throws IOException {
        bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(SnapshotFormat.ORDER);
        originalFooterAt = footerAt();
        metadataAt = (int) footerLong(0);
    }

    int footerAt() {
        return bytes.capacity() - SnapshotFormat.FOOTER_SIZE;
    }

    long footerLong(int field) {
        return bytes.getLong(footerAt() + field);
    }

    int frameEntry(int frame) {
        return (int) footerLong(0) + frame * SnapshotFormat.FRAME_ENTRY_SIZE;
    }

    int extentEntry(int extent) {
        return (int) footerLong(16) + extent * SnapshotFormat.EXTENT_ENTRY_SIZE;
    }

    int prefetchEntry(int run) {
        return (int) footerLong(32) + run * SnapshotFormat.PREFETCH_ENTRY_SIZE;
    }

    SnapshotSurgeon putInt(int at, int value) {
        bytes.putInt(at, value);
        return this;
    }

    SnapshotSurgeon putLong(int at, long value) {
        bytes.putLong(at, value);
        return this;
    }

    SnapshotSurgeon putShort(int at, short value) {
        bytes.putShort(at, value);
        return this;
    }

    /** Recomputes the header, metadata and footer checksums over the original section layout. */
    SnapshotSurgeon fixChecksums() {
        bytes.putInt(60, crc(0, 60));
        bytes.putInt(originalFooterAt + 48, crc(metadataAt, originalFooterAt - metadataAt));
        bytes.putInt(originalFooterAt + 52, crc(originalFooterAt, 52));
        return this;
    }

    private int crc(int from, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.array(), from, length);
        return (int) crc.getValue();
    }

    Path write(Path file) throws IOException {
        Files.write(file, bytes.array());
        return file;
    }
}
