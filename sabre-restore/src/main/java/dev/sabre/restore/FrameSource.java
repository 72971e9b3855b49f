package dev.sabre.restore;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * The frames a {@link RestoreEngine} restores, wherever they are kept: a .sabre file ({@link SnapshotFrames})
 * or a snapshot in a store (sabre-store's {@code StorePages}). The source says what to restore (its
 * {@link RestorePlan}) and reads each chunk of the plan with one call; the engine checks every frame of the
 * chunk before decoding any, decodes and installs. Thread-safe: the engine's workers call it at once.
 */
public interface FrameSource extends AutoCloseable {
    /** Names the snapshot in messages. */
    String name();

    int pageSize();

    /** The chunks to read, the guest runs each installs, and the zero runs. */
    RestorePlan plan();

    /** The frame holding page {@code page}, or -1 when no frame does (a zero or absent page). */
    int frameOf(long page);

    /** Worker threads to run, given how many may compute at once ({@code options.cpuWorkers()}). */
    int workers(RestoreOptions options);

    /** Whether a read waits on storage or a network (O_DIRECT, ranged requests): reads then hold no compute permit. */
    boolean readsWait();

    /** Whether reads bypass the page cache (O_DIRECT), for the metrics. */
    boolean directIo();

    /** Bytes a buffer passed to {@link #read} must have. */
    long readBufferBytes();

    /** Reads chunk {@code chunk}'s stored bytes, its frames back to back, into {@code buffer}; returns them. */
    MemorySegment read(RestorePlan.Chunk chunk, MemorySegment buffer) throws IOException;

    /** Checks frame {@code frame}'s stored bytes (a checksum or hash) before anything of them is decoded. */
    void checkFrame(int frame, MemorySegment stored) throws IOException;

    long storedLength(int frame);

    boolean compressed(int frame);

    /** Raw size of frame {@code frame}: its pages times the page size. */
    long frameBytes(int frame);

    /** Decodes checked stored bytes of frame {@code frame} into {@code raw} (exactly {@link #frameBytes}). */
    void decodeFrame(int frame, MemorySegment stored, MemorySegment raw) throws IOException;

    /** Bytes read from storage (or fetched) so far. */
    long bytesRead();

    /** Releases what reading needs (a file descriptor); called once, when the restore ends. */
    @Override
    void close();
}
