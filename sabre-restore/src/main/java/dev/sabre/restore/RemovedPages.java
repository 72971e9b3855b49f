package dev.sabre.restore;

import java.util.BitSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Pages the guest gave back with madvise(MADV_DONTNEED / MADV_REMOVE), as a balloon does. Such a page must
 * read as zeros from then on, never as snapshot data, so a prefetch that is still streaming must not
 * install it. Installers check and fill under the read lock; {@link #markRemoved} takes the write lock, so
 * no fill that saw a page as present can land after the page was marked removed.
 */
public final class RemovedPages {
    private final int pageShift;
    private final BitSet removed = new BitSet();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    public RemovedPages(int pageSize) {
        this.pageShift = Integer.numberOfTrailingZeros(pageSize);
    }

    /** Marks file offsets [offset, offset + length) removed; waits for fills in progress. */
    public void markRemoved(long offset, long length) {
        lock.writeLock().lock();
        try {
            removed.set(Math.toIntExact(offset >>> pageShift), Math.toIntExact((offset + length) >>> pageShift));
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Work done while no fill can run, such as reading a userfaultfd's events. */
    @FunctionalInterface
    public interface Exclusive<T> {
        T run() throws java.io.IOException;
    }

    /**
     * Runs {@code work} holding the write lock. An event reader reads REMOVE events this way and marks them
     * before releasing it: once the event is read the guest's madvise goes on to drop the pages, and a fill
     * that slipped in between reading and marking would land after the drop.
     */
    public <T> T exclusively(Exclusive<T> work) throws java.io.IOException {
        lock.writeLock().lock();
        try {
            return work.run();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Whether the page at {@code offset} was removed; call under {@link #lockForFill}. */
    boolean isRemoved(long offset) {
        return removed.get((int) (offset >>> pageShift));
    }

    /** File offset of the next removed page at or after {@code offset}, or {@code limit} if none before it. */
    long nextRemoved(long offset, long limit) {
        int next = removed.nextSetBit((int) (offset >>> pageShift));
        return next < 0 ? limit : Math.min(limit, (long) next << pageShift);
    }

    /** Whether any page was ever removed (lets the lazy path skip the lock). */
    public boolean isEmpty() {
        lock.readLock().lock();
        try {
            return removed.isEmpty();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whether the page at {@code offset} was removed, for callers outside a fill. */
    public boolean contains(long offset) {
        lock.readLock().lock();
        try {
            return isRemoved(offset);
        } finally {
            lock.readLock().unlock();
        }
    }

    void lockForFill() {
        lock.readLock().lock();
    }

    void unlockForFill() {
        lock.readLock().unlock();
    }
}
