package dev.sabre.restore;

import dev.sabre.linux.FileIo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * Eagerly restores a raw (uncompressed, not .sabre) memory file: what Firecracker's fault_all handler does.
 * Threads read consecutive chunks (O_DIRECT or page cache) and install each with one UFFDIO_COPY; there is
 * nothing to decompress.
 */
public final class RawRestore {
    private RawRestore() {}

    /** Installs all of {@code file} (file offset = memory offset) through {@code installer} and waits. */
    public static RestoreMetrics restore(Path file, long memorySize, Installer installer, RestoreOptions options)
            throws IOException {
        long start = System.nanoTime();
        LongAdder readNanos = new LongAdder(), installNanos = new LongAdder(), installed = new LongAdder();
        AtomicLong next = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long chunk = options.chunkBytes();
        Semaphore compute = new Semaphore(options.cpuWorkers());
        try (StorageFile storage = StorageFile.open(file, options.directIo())) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < options.workers(); i++) {
                threads.add(Thread.ofPlatform().daemon().name("sabre-raw-restore-" + i).start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment buffer = FileIo.alignedBuffer(arena, StorageFile.bufferSizeFor(chunk));
                        long at;
                        while (failure.get() == null && (at = next.getAndAdd(chunk)) < memorySize) {
                            long n = Math.min(chunk, memorySize - at);
                            // An O_DIRECT read waits for storage without a permit; a page-cache read copies, so it computes.
                            MemorySegment data = storage.isDirect() ? read(storage, at, n, buffer, readNanos) : null;
                            compute.acquireUninterruptibly();
                            try {
                                if (data == null) {
                                    data = read(storage, at, n, buffer, readNanos);
                                }
                                long t2 = System.nanoTime();
                                installed.add(installer.copy(at, data));
                                installNanos.add(System.nanoTime() - t2);
                            } finally {
                                compute.release();
                            }
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            if (failure.get() != null) {
                Throwable t = failure.get();
                throw t instanceof IOException io ? io : new IOException(t.getMessage(), t);
            }
            return new RestoreMetrics(0, 0, readNanos.sum() / 1000, 0, installNanos.sum() / 1000,
                    (System.nanoTime() - start) / 1000, storage.bytesRead(), installed.sum(),
                    Math.ceilDiv(memorySize, chunk), options.workers(), storage.isDirect());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while restoring " + file, e);
        }
    }

    private static MemorySegment read(StorageFile storage, long at, long n, MemorySegment buffer, LongAdder nanos)
            throws IOException {
        long t0 = System.nanoTime();
        MemorySegment data = storage.read(at, n, buffer);
        nanos.add(System.nanoTime() - t0);
        return data;
    }
}
