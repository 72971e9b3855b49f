package dev.sabre.restore;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import dev.sabre.format.Extent;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.SnapshotHeader;
import dev.sabre.format.SnapshotWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Valid snapshots shaped to hurt a restore: every checksum right, but each 256 MiB frame compresses to a
 * few kilobytes, so a little file describes gigabytes of stored pages and many frames fit in one read.
 */
final class HostileSnapshots {
    static final int PAGE = 4096;
    static final long FRAME_BYTES = 256L << 20;

    private HostileSnapshots() {
    }

    /** {@code frames} frames of 256 MiB each, one stored extent per frame, the bytes of every page {@code fill}. */
    static Path hugeFrames(Path file, int frames, byte fill) throws IOException {
        int framePages = (int) (FRAME_BYTES / PAGE);
        SnapshotHeader header = new SnapshotHeader(1, PAGE, FRAME_BYTES * frames, CodecId.ZSTD, 3, framePages,
                PackPolicy.SINGLE, 7, 11);
        Codec codec = Codecs.create(CodecId.ZSTD, 3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment raw = arena.allocate(FRAME_BYTES, PAGE);
            raw.fill(fill);
            MemorySegment out = arena.allocate(codec.maxCompressedLength((int) FRAME_BYTES), PAGE);
            MemorySegment stored = out.asSlice(0, codec.compress(raw, out));
            List<Extent> extents = new ArrayList<>();
            try (SnapshotWriter writer = new SnapshotWriter(file, header, frames)) {
                for (int f = 0; f < frames; f++) {
                    writer.addFrame(stored, framePages, true);
                    extents.add(Extent.stored((long) f * framePages, framePages, f, 0));
                }
                writer.finish(extents, List.of());
            }
        }
        return file;
    }
}
