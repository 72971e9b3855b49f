package dev.sabre.store;

import dev.sabre.format.Progress;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The root file system image a snapshot's VM ran on (read-only; STORE.md, "Disk frames"). A guest's page
 * cache holds pages of that image byte for byte, and every host that restores the VM has the image, so a push
 * may leave those pages there: the manifest names them as disk frames (offset, length, SHA-256), and a restore
 * reads them from this file, each frame checked against its hash before any byte is used. Thread-safe.
 */
public final class SnapshotDisk implements AutoCloseable {
    private static final int SCAN_BLOCKS = 2048;

    private final Path path;
    private final FileChannel channel;
    private final long size;

    private SnapshotDisk(Path path, FileChannel channel, long size) {
        this.path = path;
        this.channel = channel;
        this.size = size;
    }

    /** Opens {@code path} read-only; a missing or unreadable image is a one-line error naming it. */
    public static SnapshotDisk open(Path path) throws IOException {
        try {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
            return new SnapshotDisk(path, channel, channel.size());
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "the disk image does not exist");
        }
    }

    public Path path() {
        return path;
    }

    /**
     * Checks, before a restore or pull of {@code snapshot} starts, that it has the disk image its manifest {@code m}
     * needs: one is given ({@code disk}, null for none) when it has disk frames, and it can hold every one of them.
     */
    static void checkGiven(SnapshotDisk disk, Manifest m, String snapshot) throws IOException {
        if (m.needsDisk() && disk == null) {
            throw new StoreException(snapshot + " keeps " + m.diskPages() + " of its pages in its VM's disk image, not in the store: "
                    + "give that image (--disk)");
        }
        if (disk != null) {
            disk.checkFits(m, snapshot);
        }
    }

    private void checkFits(Manifest m, String snapshot) throws StoreException {
        if (size < m.diskBytesNeeded()) {
            throw new StoreException(snapshot + ": its disk frames reach byte " + m.diskBytesNeeded() + " of its disk image, but "
                    + path + " has " + size + " bytes: not the image the snapshot was pushed with");
        }
    }

    /** Disk frame {@code frame} of {@code m}: its raw pages read from this image, checked against the manifest's SHA-256. */
    public byte[] frame(Manifest m, int frame) throws IOException {
        StoredFrame f = m.frames().get(frame).stored();
        if (!m.frames().get(frame).onDisk()) {
            throw new IllegalArgumentException("frame " + frame + " is in a pack, not on the disk");
        }
        byte[] bytes = read(f.offset(), f.storedLength());
        if (!java.security.MessageDigest.isEqual(Hashes.sha256(bytes), f.sha256())) {
            throw new CorruptObjectException(path.toString(), "bytes " + f.offset() + ".." + (f.offset() + f.storedLength())
                    + " (disk frame " + frame + ") do not match the snapshot's hash: not the disk image it was pushed with, or changed since");
        }
        return bytes;
    }

    /** {@code length} bytes at {@code offset}, unchecked: what a push hashes into a disk frame. */
    byte[] read(long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        readFully(ByteBuffer.wrap(bytes), offset);
        return bytes;
    }

    /**
     * Where the non-zero blocks of this image whose SHA-256 is in {@code wanted} lie: hash to page-aligned byte
     * offset (the first such block), hashing the image on {@code threads} threads.
     */
    Map<ByteBuffer, Long> find(Set<ByteBuffer> wanted, int pageSize, int threads, Progress progress) throws IOException {
        long blocks = size / pageSize;
        long step = (long) SCAN_BLOCKS * pageSize;
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads), Thread.ofPlatform().daemon().name("disk-scan-", 0).factory());
        try {
            List<Future<Map<ByteBuffer, Long>>> work = new ArrayList<>();
            AtomicLong done = new AtomicLong();
            for (long start = 0; start < blocks * pageSize; start += step) {
                long from = start;
                long length = Math.min(step, blocks * pageSize - start);
                work.add(pool.submit(() -> {
                    ByteBuffer chunk = ByteBuffer.allocate((int) length);
                    readFully(chunk, from);
                    byte[] data = chunk.array();
                    byte[] zeros = new byte[pageSize];
                    Map<ByteBuffer, Long> found = new HashMap<>();
                    for (int off = 0; off < length; off += pageSize) {
                        if (Arrays.equals(data, off, off + pageSize, zeros, 0, pageSize)) {
                            continue;
                        }
                        ByteBuffer hash = ByteBuffer.wrap(Hashes.sha256(data, off, pageSize));
                        if (wanted.contains(hash)) {
                            found.putIfAbsent(hash, from + off);
                        }
                    }
                    progress.update("disk", done.addAndGet(length), blocks * pageSize);
                    return found;
                }));
            }
            Map<ByteBuffer, Long> where = new HashMap<>();
            for (Future<Map<ByteBuffer, Long>> w : work) { // in disk order: the first block with a content wins
                Futures.get(w).forEach(where::putIfAbsent);
            }
            return where;
        } finally {
            pool.shutdownNow();
        }
    }

    private void readFully(ByteBuffer into, long position) throws IOException {
        long at = position;
        while (into.hasRemaining()) {
            int n = channel.read(into, at);
            if (n < 0) {
                throw new java.io.EOFException(path + ": ends at byte " + at + ", before the " + into.remaining()
                        + " bytes wanted there: not the disk image the snapshot was pushed with");
            }
            at += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
