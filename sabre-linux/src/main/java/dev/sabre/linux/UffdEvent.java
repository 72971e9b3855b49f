package dev.sabre.linux;

/**
 * One message read from a userfaultfd ({@code struct uffd_msg}): a page fault to serve, or a change to the
 * registered memory the handler must know about. Which events arrive besides page faults depends on the
 * features requested with {@link Userfaultfd#api(long)}.
 */
public sealed interface UffdEvent {

    /**
     * A thread touched a registered page that is missing (or write-protected, or minor-faulting, by the
     * registration mode). The thread sleeps in the kernel until the page is filled or woken.
     *
     * @param address  the faulting address, rounded down to its page unless
     *                 {@code UFFD_FEATURE_EXACT_ADDRESS} was requested
     * @param flags    {@code UFFD_PAGEFAULT_FLAG_*} bits
     * @param threadId the faulting thread's kernel id if {@code UFFD_FEATURE_THREAD_ID} was requested, else 0
     */
    record PageFault(long address, long flags, int threadId) implements UffdEvent {
        public static final long UFFD_PAGEFAULT_FLAG_WRITE = 1L << 0;
        public static final long UFFD_PAGEFAULT_FLAG_WP = 1L << 1;
        public static final long UFFD_PAGEFAULT_FLAG_MINOR = 1L << 2;

        /** The access was a write (otherwise a read). */
        public boolean isWrite() {
            return (flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
        }

        /** The page is present but write-protected (registration mode WP). */
        public boolean isWriteProtect() {
            return (flags & UFFD_PAGEFAULT_FLAG_WP) != 0;
        }

        /** The page is in the page cache but not mapped here (registration mode MINOR). */
        public boolean isMinor() {
            return (flags & UFFD_PAGEFAULT_FLAG_MINOR) != 0;
        }
    }

    /**
     * The monitored process forked ({@code UFFD_FEATURE_EVENT_FORK}); {@code userfaultfd} is a new descriptor,
     * installed in this process, for the child's copy of the registered memory. The receiver must close it.
     */
    record Fork(int userfaultfd) implements UffdEvent {}

    /** A registered range moved with mremap ({@code UFFD_FEATURE_EVENT_REMAP}). */
    record Remap(long from, long to, long length) implements UffdEvent {}

    /**
     * Pages in [start, end) were dropped with madvise(MADV_DONTNEED / MADV_REMOVE), as a balloon does
     * ({@code UFFD_FEATURE_EVENT_REMOVE}). The next touch faults again as missing; the madvise caller waits in
     * the kernel until this event has been read.
     */
    record Remove(long start, long end) implements UffdEvent {}

    /** [start, end) was unmapped ({@code UFFD_FEATURE_EVENT_UNMAP}); the munmap caller waits until read. */
    record Unmap(long start, long end) implements UffdEvent {}

    /** An event type this class does not know (a newer kernel), passed on rather than dropped. */
    record Unknown(int type) implements UffdEvent {}
}
