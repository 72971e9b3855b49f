package dev.sabre.restore;

import dev.sabre.linux.Memory;
import dev.sabre.linux.UffdFill;
import dev.sabre.linux.Userfaultfd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Installs pages into another process's (or this one's) userfaultfd-registered memory with UFFDIO_COPY and
 * UFFDIO_ZEROPAGE, one ioctl per contiguous run, in units of {@code pageSize}, the VMM's page size: on
 * 2 MiB huge pages every fill must be whole huge pages and zeros are copied (UFFDIO_ZEROPAGE is EINVAL there). Pages already present (EEXIST: a fault or another thread
 * was first) are skipped; a partial fill (EAGAIN: an event such as REMOVE is pending) is retried after
 * giving the event reader a chance; pages the guest removed are never filled with snapshot data.
 * ESRCH (the VMM exited) and other errors throw.
 */
public final class UffdInstaller implements Installer {
    private final Userfaultfd uffd;
    private final GuestLayout layout;
    private final RemovedPages removed;
    private final long pageSize;
    private volatile boolean aborted;
    private volatile Thread eventThread;
    private volatile EventDrain drain;
    /** For huge pages, which UFFDIO_ZEROPAGE cannot fill: one huge page of zeros to copy from; else null. */
    private final MemorySegment zeros;

    /** Reads pending userfaultfd events; called when a fill made no progress on the event-reading thread. */
    @FunctionalInterface
    public interface EventDrain {
        void drain() throws java.io.IOException;
    }

    public UffdInstaller(Userfaultfd uffd, GuestLayout layout, RemovedPages removed, int pageSize) {
        this.uffd = uffd;
        this.layout = layout;
        this.removed = removed;
        this.pageSize = pageSize;
        this.zeros = pageSize > Memory.pageSize() ? Arena.ofAuto().allocate(pageSize, 4096) : null;
    }

    /**
     * Declares the thread that reads this userfaultfd's events. When a fill on that thread stalls (EAGAIN
     * with nothing filled), nobody else would read the pending event, so {@code drain} is called instead of
     * waiting; other threads just yield to it.
     */
    public void setEventReader(Thread thread, EventDrain drain) {
        this.drain = drain;
        this.eventThread = thread;
    }

    /**
     * Makes every fill in progress or to come fail at once: for a session that is ending, whose prefetch
     * must not wait (for events nobody reads any more) before the userfaultfd is closed.
     */
    public void abort() {
        aborted = true;
    }

    public GuestLayout layout() {
        return layout;
    }

    public RemovedPages removed() {
        return removed;
    }

    @Override
    public long copy(long offset, MemorySegment data) throws IOException {
        return forEachRegion(offset, data.byteSize(), (host, file, at, length) -> copyRun(host, file, data.asSlice(at, length), true));
    }

    @Override
    public long zero(long offset, long length) throws IOException {
        if (zeros != null) {
            return forEachRegion(offset, length, (host, file, at, n) -> copyZeros(host, file, n));
        }
        return forEachRegion(offset, length, (host, file, at, n) -> zeroRun(host, n));
    }

    private interface RunAction {
        long apply(long hostAddress, long fileOffset, long at, long length) throws IOException;
    }

    private void stalled() throws IOException {
        checkAborted();
        EventDrain d = drain;
        if (d != null && Thread.currentThread() == eventThread) {
            d.drain();
        } else {
            Thread.yield(); // EAGAIN: let the event reader take the pending event
        }
    }

    /** Splits [offset, offset + length) at region boundaries; file offsets outside every region are an error. */
    private void checkAborted() throws IOException {
        if (aborted) {
            throw new IOException("installing into the VMM's memory was aborted: the session is ending");
        }
    }

    private long forEachRegion(long offset, long length, RunAction action) throws IOException {
        checkAborted();
        long done = 0, installed = 0;
        while (done < length) {
            GuestRegion r = layout.regionAtFileOffset(offset + done);
            if (r == null) {
                throw new IOException("memory-file offset " + (offset + done) + " lies in no guest region of the VMM");
            }
            long n = Math.min(length - done, r.fileEnd() - (offset + done));
            installed += action.apply(r.hostAddress() + (offset + done - r.fileOffset()), offset + done, done, n);
            done += n;
        }
        return installed;
    }

    /** Copies {@code src} to {@code host}; with {@code keepRemoved}, pages the guest removed are skipped. */
    private long copyRun(long host, long file, MemorySegment src, boolean keepRemoved) throws IOException {
        long length = src.byteSize(), pos = 0, installed = 0;
        while (pos < length) {
            boolean stalled = false;
            removed.lockForFill();
            try {
                if (keepRemoved && removed.isRemoved(file + pos)) {
                    pos += pageSize; // the guest gave this page back: it must stay zero
                    continue;
                }
                long end = keepRemoved ? removed.nextRemoved(file + pos, file + length) - file : length;
                UffdFill fill = uffd.copy(host + pos, src.asSlice(pos, end - pos), 0);
                installed += fill.bytes();
                if (fill.complete()) {
                    pos = end;
                } else if (fill.alreadyPresent()) {
                    pos += pageSize;
                } else {
                    pos += fill.bytes();
                    stalled = fill.bytes() == 0;
                }
            } finally {
                removed.unlockForFill();
            }
            if (stalled) {
                stalled();
            }
        }
        return installed;
    }

    /** Zeros for huge pages: copied one huge page at a time, since UFFDIO_ZEROPAGE is EINVAL on hugetlb. */
    private long copyZeros(long host, long file, long length) throws IOException {
        long installed = 0;
        for (long pos = 0; pos < length; pos += pageSize) {
            installed += copyRun(host + pos, file + pos, zeros, false); // zeros are right for removed pages too
        }
        return installed;
    }

    private long zeroRun(long host, long length) throws IOException {
        long pos = 0, installed = 0;
        while (pos < length) {
            UffdFill fill = uffd.zeroPage(host + pos, length - pos, 0);
            installed += fill.bytes();
            if (fill.complete()) {
                pos = length;
            } else if (fill.alreadyPresent()) {
                pos += pageSize;
            } else {
                pos += fill.bytes();
                if (fill.bytes() == 0) {
                    stalled();
                }
            }
        }
        return installed;
    }
}
