package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * A reusable set of descriptors to wait on with poll(2), for loops that wait on the same descriptors again
 * and again (a page-fault handler waits on its userfaultfd and on an {@link EventFd} that tells it to stop).
 * The {@code struct pollfd} array lives in native memory for the life of the set, so polling allocates
 * nothing. A set belongs to the thread that made it: its memory is confined to that thread, because closing
 * a shared arena briefly stops every thread of the JVM, a cost that grows with the number of threads (a
 * handler with thousands of connections would pay it per connection).
 */
public final class PollSet implements AutoCloseable {

    public static final int POLLIN = 0x001;
    public static final int POLLPRI = 0x002;
    public static final int POLLOUT = 0x004;
    public static final int POLLERR = 0x008;
    public static final int POLLHUP = 0x010;
    public static final int POLLNVAL = 0x020;
    public static final int POLLRDHUP = 0x2000;

    static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));
    private static final long FD = POLLFD.byteOffset(MemoryLayout.PathElement.groupElement("fd"));
    private static final long EVENTS = POLLFD.byteOffset(MemoryLayout.PathElement.groupElement("events"));
    private static final long REVENTS = POLLFD.byteOffset(MemoryLayout.PathElement.groupElement("revents"));

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment pollfds;
    private final int capacity;
    private int size;

    /** An empty set with room for {@code capacity} descriptors. */
    public PollSet(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
        this.pollfds = arena.allocate(POLLFD, capacity);
    }

    /**
     * Adds {@code fd} waiting for {@code events} ({@code POLLIN}, {@code POLLOUT}, ...; errors and hang-ups
     * are always reported).
     *
     * @return its index, for {@link #revents}
     */
    public int add(int fd, int events) {
        if (size == capacity) {
            throw new IllegalStateException("poll set is full (" + capacity + " descriptors)");
        }
        MemorySegment entry = entry(size);
        entry.set(JAVA_INT, FD, fd);
        entry.set(JAVA_SHORT, EVENTS, (short) events);
        entry.set(JAVA_SHORT, REVENTS, (short) 0);
        return size++;
    }

    /** Empties the set, so a loop whose descriptors change can refill it before each poll. */
    public void clear() {
        size = 0;
    }

    public int size() {
        return size;
    }

    /** The descriptor at {@code index}. */
    public int fd(int index) {
        return entry(checkIndex(index)).get(JAVA_INT, FD);
    }

    /**
     * Waits until a descriptor is ready or {@code timeoutMillis} passed (negative: no limit; 0: just look).
     * A signal does not end the wait early: poll is restarted with the time that is left.
     *
     * @return how many descriptors have events, 0 on time-out
     */
    public int poll(long timeoutMillis) throws LinuxException {
        long deadline = System.nanoTime() + Math.max(timeoutMillis, 0) * 1_000_000L;
        long wait = timeoutMillis;
        while (true) {
            int r = Libc.poll(pollfds, size, (int) Math.min(wait, Integer.MAX_VALUE));
            if (r != -Errno.EINTR) {
                return Libc.check("poll(" + size + " descriptors)", r);
            }
            if (timeoutMillis >= 0) {
                wait = Math.max(0, (deadline - System.nanoTime()) / 1_000_000L);
            }
        }
    }

    /** The events the last {@link #poll} reported for {@code index}; 0 if none. */
    public int revents(int index) {
        return Short.toUnsignedInt(entry(checkIndex(index)).get(JAVA_SHORT, REVENTS));
    }

    /** Whether the last {@link #poll} reported any event for {@code index}. */
    public boolean ready(int index) {
        return revents(index) != 0;
    }

    /** Frees the native array; the descriptors are the caller's and stay open. */
    @Override
    public void close() {
        arena.close();
    }

    private MemorySegment entry(int index) {
        return pollfds.asSlice(index * POLLFD.byteSize(), POLLFD.byteSize());
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " of " + size);
        }
        return index;
    }
}
