package dev.sabre.handler;

import dev.sabre.linux.HugePages;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.Memory;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.restore.GuestRegion;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The VMM side of the handshake, doing exactly what Firecracker does when it loads a snapshot with a UFFD
 * memory backend: map anonymous private guest memory (one mapping per region), create a non-blocking
 * userfaultfd with {@code UFFD_FEATURE_EVENT_REMOVE}, register every region in MISSING mode, connect to the
 * handler and send one message with the JSON mappings and the descriptor; with {@code huge_pages} the memory
 * is on 2 MiB hugetlb pages ({@code MAP_HUGETLB}, from the host's pool: see {@link HugePages}) and the
 * handshake says so in its page sizes. Then it touches pages the way a
 * guest does (sequentially, randomly, in a recorded order, from several threads; madvise(MADV_DONTNEED) as a
 * balloon does) and checks every byte it touches against the source memory file, zeros after a removal.
 *
 * <p>Guest memory is only ever touched through native calls (memcmp), never from Java code: a Java thread
 * blocked in a fault would stall every safepoint (see {@link Memory}). Used by tests and benchmarks in this
 * process, and as a separate process through {@link #main}.
 */
public final class SimulatedVmm implements AutoCloseable {
    /** The unit pages are touched and checked in: the memory file's 4 KiB pages, whatever the mapping's. */
    private final long pageSize;
    /** The page size the memory is mapped with and the handshake announces. */
    private final long guestPageSize;
    private final List<GuestRegion> regions;
    private final List<MemorySegment> mappings;
    private final Userfaultfd uffd;
    private final UnixSocket socket;
    private final MemorySegment expected;
    private final Arena expectedArena;
    private final BitSet removed = new BitSet();
    private final MemorySegment zeroPage;

    private SimulatedVmm(long pageSize, long guestPageSize, List<GuestRegion> regions, List<MemorySegment> mappings, Userfaultfd uffd,
                         UnixSocket socket, MemorySegment expected, Arena expectedArena) {
        this.pageSize = pageSize;
        this.guestPageSize = guestPageSize;
        this.regions = regions;
        this.mappings = mappings;
        this.uffd = uffd;
        this.socket = socket;
        this.expected = expected;
        this.expectedArena = expectedArena;
        this.zeroPage = expectedArena.allocate(pageSize, pageSize);
    }

    /**
     * Maps guest memory the size of {@code memoryFile} in {@code regionCount} regions, hands it to the handler
     * at {@code socketPath} and returns once the handshake is sent. {@code memoryFile} (raw) is what every
     * touched page is checked against.
     */
    public static SimulatedVmm start(Path socketPath, Path memoryFile, int regionCount) throws IOException {
        return start(socketPath, memoryFile, regionCount, Memory.pageSize());
    }

    /**
     * {@link #start(Path, Path, int)} with guest memory on pages of {@code guestPageSize}: the base page size,
     * or {@link HugePages#SIZE} for 2 MiB hugetlb memory (the host's pool must hold enough free pages).
     */
    public static SimulatedVmm start(Path socketPath, Path memoryFile, int regionCount, long guestPageSize)
            throws IOException {
        boolean huge = guestPageSize == HugePages.SIZE;
        if (!huge && guestPageSize != Memory.pageSize()) {
            throw new IllegalArgumentException("guest page size " + guestPageSize + ": expected " + Memory.pageSize()
                    + " or " + HugePages.SIZE);
        }
        Arena arena = Arena.ofShared();
        List<MemorySegment> mappings = new ArrayList<>();
        try (FileChannel file = FileChannel.open(memoryFile, StandardOpenOption.READ)) {
            MemorySegment expected = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
            if (file.size() % guestPageSize != 0) {
                throw new IOException(memoryFile + ": " + file.size() + " bytes is not a multiple of the guest page size "
                        + guestPageSize);
            }
            long pages = file.size() / guestPageSize;
            List<GuestRegion> regions = new ArrayList<>();
            Userfaultfd uffd = Userfaultfd.create(true, false);
            try {
                uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
                for (int i = 0; i < regionCount; i++) {
                    long first = pages * i / regionCount, end = pages * (i + 1) / regionCount;
                    long bytes = (end - first) * guestPageSize;
                    MemorySegment mapping = huge ? HugePages.mapAnonymous(bytes) : Memory.mapAnonymous(bytes);
                    mappings.add(mapping);
                    uffd.register(mapping.address(), mapping.byteSize(), Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
                    regions.add(new GuestRegion(mapping.address(), mapping.byteSize(), first * guestPageSize));
                }
                UnixSocket socket = UnixSocket.connect(socketPath);
                socket.send(Handshake.toJson(regions, (int) guestPageSize).getBytes(StandardCharsets.UTF_8), uffd.fd());
                return new SimulatedVmm(Memory.pageSize(), guestPageSize, regions, mappings, uffd, socket, expected, arena);
            } catch (IOException | RuntimeException e) {
                uffd.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            for (MemorySegment m : mappings) {
                Memory.munmap(m);
            }
            arena.close();
            throw e;
        }
    }

    public long pageCount() {
        return expected.byteSize() / pageSize;
    }

    public List<GuestRegion> regions() {
        return regions;
    }

    /** The guest bytes of memory-file page {@code page}. */
    private MemorySegment guestPage(long page) {
        return guestBytes(page * pageSize, pageSize);
    }

    /** The guest bytes at memory-file offset {@code offset}, {@code length} of them within one region. */
    private MemorySegment guestBytes(long offset, long length) {
        for (int i = 0; i < regions.size(); i++) {
            GuestRegion r = regions.get(i);
            if (offset >= r.fileOffset() && offset < r.fileEnd()) {
                return mappings.get(i).asSlice(offset - r.fileOffset(), length);
            }
        }
        throw new IndexOutOfBoundsException("offset " + offset + " is outside the guest memory");
    }

    /**
     * Reads page {@code page} (faulting it in if missing) and compares it with the source memory, or with
     * zeros if it was removed.
     *
     * @return true if every byte matches
     */
    public boolean touchAndCheck(long page) {
        MemorySegment want;
        synchronized (removed) {
            want = removed.get((int) page) ? zeroPage : expected.asSlice(page * pageSize, pageSize);
        }
        return Memory.compare(guestPage(page), want) == 0;
    }

    /** Result of touching many pages: how many were touched and the first page that did not match (-1 if none). */
    public record TouchResult(long touched, long mismatches, long firstMismatch) {
        public boolean ok() {
            return mismatches == 0;
        }
    }

    /** Touches {@code pages} in order, split into {@code threads} interleaved streams, checking each. */
    public TouchResult touch(long[] pages, int threads) throws InterruptedException {
        AtomicLong mismatches = new AtomicLong();
        AtomicLong first = new AtomicLong(-1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int start = t;
            workers.add(Thread.ofPlatform().daemon().name("vcpu-" + t).start(() -> {
                try {
                    for (int i = start; i < pages.length; i += threads) {
                        if (!touchAndCheck(pages[i])) {
                            mismatches.incrementAndGet();
                            first.compareAndSet(-1, pages[i]);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("touching guest memory failed: " + failure.get(), failure.get());
        }
        return new TouchResult(pages.length, mismatches.get(), first.get());
    }

    /**
     * Gives pages [firstPage, firstPage + count) back as a balloon does: madvise(MADV_DONTNEED), a REMOVE event,
     * one per guest page. On huge pages the range must be whole huge pages, as a balloon's is.
     */
    public void remove(long firstPage, long count) throws LinuxException {
        long offset = firstPage * pageSize, length = count * pageSize;
        if (offset % guestPageSize != 0 || length % guestPageSize != 0) {
            throw new IllegalArgumentException("pages " + firstPage + " + " + count + " are not whole guest pages of "
                    + guestPageSize + " bytes");
        }
        synchronized (removed) {
            removed.set((int) firstPage, (int) (firstPage + count));
        }
        for (long at = offset; at < offset + length; at += guestPageSize) {
            Memory.madvise(guestBytes(at, guestPageSize), Memory.MADV_DONTNEED);
        }
    }

    /** Closes the connection, as a VMM that exits does; the handler sees the end of the session. */
    public void disconnect() throws LinuxException {
        socket.close();
    }

    @Override
    public void close() throws IOException {
        try {
            socket.close();
            uffd.close();
            for (MemorySegment m : mappings) {
                Memory.munmap(m);
            }
        } finally {
            expectedArena.close();
        }
    }

    /**
     * A VMM in its own process: {@code SimulatedVmm SOCKET MEMORY_FILE [PAGES]} touches the first PAGES pages
     * (all by default) in order and exits 0 if all matched, 3 on a mismatch (printing the page), 2 on an error.
     */
    public static void main(String[] args) {
        try (SimulatedVmm vmm = start(Path.of(args[0]), Path.of(args[1]), 1)) {
            long count = args.length > 2 ? Long.parseLong(args[2]) : vmm.pageCount();
            for (long p = 0; p < count; p++) {
                if (!vmm.touchAndCheck(p)) {
                    System.out.println("MISMATCH " + p);
                    System.exit(3);
                }
            }
            System.out.println("OK " + count);
        } catch (Throwable t) {
            System.out.println("ERROR " + t);
            System.exit(2);
        }
        System.exit(0);
    }
}
