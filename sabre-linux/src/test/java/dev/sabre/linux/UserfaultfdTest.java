package dev.sabre.linux;

import static dev.sabre.linux.Userfaultfd.UFFDIO_REGISTER_MODE_MINOR;
import static dev.sabre.linux.Userfaultfd.UFFDIO_REGISTER_MODE_MISSING;
import static dev.sabre.linux.Userfaultfd.UFFDIO_REGISTER_MODE_WP;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Userfaultfd against the real kernel. The test thread plays the page-fault handler; "toucher" threads touch
 * registered memory, only through native calls (memcmp, memset, read(2)), and block until it is served.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UserfaultfdTest {
    private static final long PAGE = Memory.pageSize();
    private static final long WAIT_MILLIS = 10_000;

    private final Arena arena = Arena.ofShared();
    private final Background background = new Background();
    private final List<Userfaultfd> uffds = new ArrayList<>();
    private final List<MemorySegment> mappings = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        // Closing the userfaultfds wakes any toucher still waiting; only then may the memory go away.
        for (Userfaultfd uffd : uffds) {
            uffd.close();
        }
        if (background.awaitAll(10, SECONDS)) {
            for (MemorySegment mapping : mappings) {
                Memory.munmap(mapping);
            }
            arena.close();
        } // else a thread may still touch the memory: leak it rather than crash the JVM
    }

    private Userfaultfd open(long features) throws LinuxException {
        Userfaultfd uffd = Userfaultfd.create(true, false);
        uffds.add(uffd);
        uffd.api(features);
        return uffd;
    }

    private MemorySegment map(long pages) throws LinuxException {
        MemorySegment mapping = Memory.mapAnonymous(pages * PAGE);
        mappings.add(mapping);
        return mapping;
    }

    private MemorySegment page(MemorySegment region, long index) {
        return region.asSlice(index * PAGE, PAGE);
    }

    /** A page-aligned native page where every byte is {@code seed + i * 31}. */
    private MemorySegment pattern(int seed, long pages) {
        MemorySegment src = FileIo.alignedBuffer(arena, pages * PAGE);
        for (long i = 0; i < src.byteSize(); i++) {
            src.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (seed + i * 31));
        }
        return src;
    }

    private MemorySegment filled(byte value) {
        MemorySegment page = FileIo.alignedBuffer(arena, PAGE);
        page.fill(value);
        return page;
    }

    /** Waits (with a time limit) until the userfaultfd is readable and returns what it holds. */
    private static List<UffdEvent> awaitEvents(Userfaultfd uffd) throws LinuxException {
        try (PollSet poll = new PollSet(1)) {
            poll.add(uffd.fd(), PollSet.POLLIN);
            if (poll.poll(WAIT_MILLIS) == 0) {
                fail("no userfaultfd event within " + WAIT_MILLIS + " ms");
            }
            assertEquals(PollSet.POLLIN, poll.revents(0) & PollSet.POLLIN);
        }
        List<UffdEvent> events = uffd.readEvents(16);
        assertFalse(events.isEmpty(), "poll said readable but read found no event");
        return events;
    }

    private static UffdEvent.PageFault awaitFault(Userfaultfd uffd) throws LinuxException {
        List<UffdEvent> events = awaitEvents(uffd);
        assertEquals(1, events.size(), () -> "expected one event, got " + events);
        return assertInstanceOf(UffdEvent.PageFault.class, events.getFirst());
    }

    private static <T> T result(CompletableFuture<T> future) throws Exception {
        return future.get(WAIT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Test
    void probeReportsTheFeaturesTheHandshakeNeeds() throws Exception {
        UffdApi api = Userfaultfd.probe();
        assertEquals(0, api.requestedFeatures());
        assertTrue(api.available(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE));
        assertTrue(api.available(Userfaultfd.UFFD_FEATURE_MISSING_SHMEM));
        assertTrue(api.available(Userfaultfd.UFFD_FEATURE_THREAD_ID));
        long fdIoctls = Userfaultfd.IOCTL_API | Userfaultfd.IOCTL_REGISTER | Userfaultfd.IOCTL_UNREGISTER;
        assertEquals(fdIoctls, api.ioctls() & fdIoctls);
    }

    @Test
    void apiTwiceIsRefused() throws Exception {
        Userfaultfd uffd = open(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
        LinuxException e = assertThrows(LinuxException.class, () -> uffd.api(0));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("ioctl(UFFDIO_API"), e.getMessage());
    }

    @Test
    void readWithoutEventsReturnsNothing() throws Exception {
        Userfaultfd uffd = open(0);
        MemorySegment region = map(1);
        uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);
        assertEquals(List.of(), uffd.readEvents(4));
    }

    @Test
    void faultsAreServedWithCopyAndZeroPage() throws Exception {
        Userfaultfd uffd = open(Userfaultfd.UFFD_FEATURE_THREAD_ID);
        MemorySegment region = map(8);
        long ioctls = uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);
        long wanted = Userfaultfd.IOCTL_COPY | Userfaultfd.IOCTL_ZEROPAGE | Userfaultfd.IOCTL_WAKE;
        assertEquals(wanted, ioctls & wanted, "range ioctls 0x" + Long.toHexString(ioctls));

        // A read fault on page 0, served with UFFDIO_COPY: the reader sees the copied bytes.
        MemorySegment src = pattern(7, 1);
        int[] readerTid = new int[1];
        CompletableFuture<Integer> reader = background.run("reader", () -> {
            readerTid[0] = Processes.gettid();
            return Memory.compare(page(region, 0), src);
        });
        UffdEvent.PageFault fault = awaitFault(uffd);
        assertEquals(region.address(), fault.address());
        assertFalse(fault.isWrite());
        assertFalse(reader.isDone(), "the reader must wait for the page");
        UffdFill copied = uffd.copy(fault.address(), src, 0);
        assertTrue(copied.complete(), copied.toString());
        assertEquals(PAGE, copied.bytes());
        assertEquals(0, result(reader));
        assertEquals(readerTid[0], fault.threadId());

        // A write fault on page 1, served with UFFDIO_ZEROPAGE: the write then goes ahead.
        CompletableFuture<Void> writer = background.run("writer", () -> {
            Memory.fill(page(region, 1), (byte) 0x5A);
            return null;
        });
        fault = awaitFault(uffd);
        assertEquals(region.address() + PAGE, fault.address());
        assertTrue(fault.isWrite());
        UffdFill zeroed = uffd.zeroPage(fault.address(), PAGE, 0);
        assertTrue(zeroed.complete(), zeroed.toString());
        assertEquals(PAGE, zeroed.bytes());
        result(writer);
        assertEquals(0, Memory.compare(page(region, 1), filled((byte) 0x5A)));

        // A read fault served with the zero page reads zeros.
        CompletableFuture<Integer> zeroReader = background.run("zero reader",
                () -> Memory.compare(page(region, 2), filled((byte) 0)));
        fault = awaitFault(uffd);
        assertEquals(region.address() + 2 * PAGE, fault.address());
        assertTrue(uffd.zeroPage(fault.address(), PAGE, 0).complete());
        assertEquals(0, result(zeroReader));
    }

    @Test
    void fillingAPresentPageReportsEexistAndPartialCopiesReportTheirLength() throws Exception {
        Userfaultfd uffd = open(0);
        MemorySegment region = map(4);
        uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);

        // Install pages without any fault, as an eager restore does.
        MemorySegment first = pattern(1, 1);
        assertTrue(uffd.copy(region.address(), first, 0).complete());
        assertTrue(uffd.copy(region.address() + 2 * PAGE, pattern(2, 1), 0).complete());

        UffdFill again = uffd.copy(region.address(), pattern(3, 1), 0);
        assertTrue(again.alreadyPresent(), again.toString());
        assertEquals(Errno.EEXIST, again.errno());
        assertEquals(0, again.bytes());
        assertEquals(0, Memory.compare(page(region, 0), first), "an EEXIST copy must not change the page");

        UffdFill zero = uffd.zeroPage(region.address(), PAGE, 0);
        assertTrue(zero.alreadyPresent(), zero.toString());

        // Pages 1 and 2, where 2 is present: the kernel fills page 1, stops, and says how far it got.
        MemorySegment two = pattern(4, 2);
        UffdFill partial = uffd.copy(region.address() + PAGE, two, 0);
        assertEquals(new UffdFill(2 * PAGE, PAGE, Errno.EAGAIN), partial);
        assertTrue(partial.mustRetry());
        assertEquals(0, Memory.compare(page(region, 1), two.asSlice(0, PAGE)));

        // Misuse is an exception that names the ioctl: an unaligned destination.
        LinuxException e = assertThrows(LinuxException.class,
                () -> uffd.copy(region.address() + 1, pattern(5, 1), 0));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("ioctl(UFFDIO_COPY, 0x"), e.getMessage());
    }

    @Test
    void removedPagesAreReportedAndFaultAgain() throws Exception {
        Userfaultfd uffd = open(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
        MemorySegment region = map(4);
        uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);
        MemorySegment data = pattern(9, 4);
        assertTrue(uffd.copy(region.address(), data, 0).complete());

        // A balloon gives pages 1-2 back. madvise waits in the kernel until the handler has read the event.
        CompletableFuture<Void> balloon = background.run("balloon", () -> {
            Memory.madvise(region.asSlice(PAGE, 2 * PAGE), Memory.MADV_DONTNEED);
            return null;
        });
        List<UffdEvent> events = awaitEvents(uffd);
        assertEquals(List.of(new UffdEvent.Remove(region.address() + PAGE, region.address() + 3 * PAGE)), events);
        result(balloon);

        // The removed page is missing again; the handler decides what it reads as (zeros, here).
        CompletableFuture<Integer> reader = background.run("reader",
                () -> Memory.compare(page(region, 2), filled((byte) 0)));
        UffdEvent.PageFault fault = awaitFault(uffd);
        assertEquals(region.address() + 2 * PAGE, fault.address());
        assertTrue(uffd.zeroPage(fault.address(), PAGE, 0).complete());
        assertEquals(0, result(reader));
        // Pages outside the removed range kept their contents.
        assertEquals(0, Memory.compare(page(region, 3), data.asSlice(3 * PAGE, PAGE)));
    }

    @Test
    void faultsRaisedInsideTheKernelAreDelivered() throws Exception {
        Userfaultfd uffd = open(0);
        MemorySegment region = map(1);
        uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);
        MemorySegment data = pattern(5, 1);
        try (Fds.Pipe pipe = Fds.pipe(0)) {
            assertEquals(PAGE, Fds.write(pipe.writeFd(), data));
            // read(2) writes into the registered page from kernel mode (copy_to_user).
            CompletableFuture<Long> reader = background.run("read(2)", () -> Fds.read(pipe.readFd(), region));
            UffdEvent.PageFault fault = awaitFault(uffd);
            assertEquals(region.address(), fault.address());
            assertTrue(fault.isWrite());
            assertTrue(uffd.zeroPage(fault.address(), PAGE, 0).complete());
            assertEquals(PAGE, result(reader));
            assertEquals(0, Memory.compare(region, data));
        }
    }

    @Test
    void userModeOnlyRefusesKernelFaults() throws Exception {
        Userfaultfd uffd = Userfaultfd.create(true, true);
        uffds.add(uffd);
        uffd.api(0);
        MemorySegment region = map(1);
        uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);
        try (Fds.Pipe pipe = Fds.pipe(0)) {
            Fds.write(pipe.writeFd(), pattern(6, 1));
            CompletableFuture<Long> reader = background.run("read(2)", () -> Fds.read(pipe.readFd(), region));
            ExecutionException e = assertThrows(ExecutionException.class, () -> result(reader));
            LinuxException cause = assertInstanceOf(LinuxException.class, e.getCause());
            assertEquals(Errno.EFAULT, cause.errno());
            assertEquals(List.of(), uffd.readEvents(4));
        }
    }

    @Test
    void unmapIsReported() throws Exception {
        Userfaultfd uffd = open(Userfaultfd.UFFD_FEATURE_EVENT_UNMAP);
        MemorySegment region = Memory.mapAnonymous(2 * PAGE); // unmapped by the test itself
        uffd.register(region.address(), region.byteSize(), UFFDIO_REGISTER_MODE_MISSING);
        CompletableFuture<Void> unmapper = background.run("munmap", () -> {
            Memory.munmap(region);
            return null;
        });
        assertEquals(List.of(new UffdEvent.Unmap(region.address(), region.address() + 2 * PAGE)), awaitEvents(uffd));
        result(unmapper);
    }

    @Test
    void minorFaultsOnSharedMemoryAreServedWithContinue() throws Exception {
        Userfaultfd uffd = open(Userfaultfd.UFFD_FEATURE_MINOR_SHMEM);
        int memfd = Memory.memfdCreate("minor", Memory.MFD_CLOEXEC);
        try {
            FileIo.ftruncate(memfd, PAGE);
            int prot = Memory.PROT_READ | Memory.PROT_WRITE;
            MemorySegment backing = Memory.mmap(0, PAGE, prot, Memory.MAP_SHARED, memfd, 0);
            mappings.add(backing);
            MemorySegment view = Memory.mmap(0, PAGE, prot, Memory.MAP_SHARED, memfd, 0);
            mappings.add(view);
            MemorySegment data = pattern(8, 1);
            Memory.copy(data, backing); // in the page cache, not yet mapped in the view
            long ioctls = uffd.register(view.address(), PAGE, UFFDIO_REGISTER_MODE_MINOR);
            assertTrue((ioctls & Userfaultfd.IOCTL_CONTINUE) != 0);

            CompletableFuture<Integer> reader = background.run("reader", () -> Memory.compare(view, data));
            UffdEvent.PageFault fault = awaitFault(uffd);
            assertTrue(fault.isMinor());
            assertEquals(view.address(), fault.address());
            assertTrue(uffd.continueRange(fault.address(), PAGE, 0).complete());
            assertEquals(0, result(reader));
            assertTrue(uffd.continueRange(view.address(), PAGE, 0).alreadyPresent());
        } finally {
            Fds.close(memfd);
        }
    }

    @Test
    void writeProtectFaultsAreServedByLiftingTheProtection() throws Exception {
        Userfaultfd uffd = open(Userfaultfd.UFFD_FEATURE_PAGEFAULT_FLAG_WP);
        MemorySegment region = map(1);
        uffd.register(region.address(), PAGE, UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP);
        assertTrue(uffd.copy(region.address(), pattern(3, 1), Userfaultfd.UFFDIO_COPY_MODE_WP).complete());

        CompletableFuture<Void> writer = background.run("writer", () -> {
            Memory.fill(region, (byte) 0x11);
            return null;
        });
        UffdEvent.PageFault fault = awaitFault(uffd);
        assertTrue(fault.isWriteProtect() && fault.isWrite(), "flags " + fault.flags());
        uffd.writeProtect(region.address(), PAGE, 0); // lifts the protection and wakes the writer
        result(writer);
        assertEquals(0, Memory.compare(region, filled((byte) 0x11)));
    }

    @Test
    void unregisteredMemoryNoLongerFaults() throws Exception {
        Userfaultfd uffd = open(0);
        MemorySegment region = map(1);
        uffd.register(region.address(), PAGE, UFFDIO_REGISTER_MODE_MISSING);
        uffd.unregister(region.address(), PAGE);
        assertEquals(0, Memory.compare(region, filled((byte) 0)));
        uffd.wake(region.address(), PAGE); // nothing waits: a no-op, but a valid one
    }

    @Test
    void closingWakesWaitingThreads() throws Exception {
        Userfaultfd uffd = open(0);
        MemorySegment region = map(1);
        uffd.register(region.address(), PAGE, UFFDIO_REGISTER_MODE_MISSING);
        CompletableFuture<Integer> reader = background.run("reader", () -> Memory.compare(region, filled((byte) 0)));
        awaitFault(uffd);
        uffd.close();
        assertEquals(0, result(reader), "after close, anonymous memory reads as zeros");
        assertEquals(-1, uffd.fd());
        LinuxException e = assertThrows(LinuxException.class, () -> uffd.zeroPage(region.address(), PAGE, 0));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void theDeviceCreatesUserfaultfdsToo() throws Exception {
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/userfaultfd")), "no /dev/userfaultfd");
        Userfaultfd uffd = Userfaultfd.createViaDevice(FileIo.O_CLOEXEC | FileIo.O_NONBLOCK);
        uffds.add(uffd);
        assertTrue(Fds.isCloseOnExec(uffd.fd()));
        assertTrue((Fds.getFlags(uffd.fd()) & FileIo.O_NONBLOCK) != 0);
        assertTrue(uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE).enabled(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE));
        MemorySegment region = map(1);
        uffd.register(region.address(), PAGE, UFFDIO_REGISTER_MODE_MISSING);
        assertTrue(uffd.zeroPage(region.address(), PAGE, 0).complete());
    }

    @Test
    void createdDescriptorsAreCloseOnExecAndNonBlocking() throws Exception {
        Userfaultfd uffd = Userfaultfd.create(true, false);
        uffds.add(uffd);
        assertTrue(Fds.isCloseOnExec(uffd.fd()));
        assertTrue((Fds.getFlags(uffd.fd()) & FileIo.O_NONBLOCK) != 0);
    }
}
