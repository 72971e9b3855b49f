package dev.sabre.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a snapshot back out as a raw memory file of the full memory size. Zero and absent pages are
 * left as holes, so the file is sparse; the result appears under its name only when complete.
 */
public final class Unpacker {
    private Unpacker() {
    }

    /** Unpacks {@code snapshot} to {@code out}; returns the number of page bytes written (excluding holes). */
    public static long unpack(SnapshotReader snapshot, Path out, int threads, Progress progress) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".tmp");
        boolean done = false;
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            int pageSize = snapshot.header().pageSize();
            long[] written = new long[1];
            snapshot.restore(new PageSink() {
                @Override
                public void write(long firstPage, MemorySegment data) throws IOException {
                    ByteBuffer buffer = data.asByteBuffer();
                    long at = firstPage * pageSize;
                    while (buffer.hasRemaining()) {
                        at += channel.write(buffer, at);
                    }
                    synchronized (written) {
                        written[0] += data.byteSize();
                    }
                }

                @Override
                public void zero(long firstPage, long count) {
                    // A hole reads as zeros.
                }
            }, threads, progress);
            // Extend to the full memory size without writing the tail (a hole when the last pages are zero).
            if (channel.size() < snapshot.header().memorySize()) {
                channel.write(ByteBuffer.allocate(1), snapshot.header().memorySize() - 1);
            }
            channel.force(true);
            Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
            return written[0];
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }
}
