package dev.sabre.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Reserving the host's 2 MiB pages and giving them back, and what userfaultfd does on hugetlb memory (the
 * facts the handler's huge-page path rests on), against the real kernel. Needs root, as the handler's
 * huge-page tests do.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HugePagesTest {
    private static final Path NR = Path.of("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
    private static final long HUGE = HugePages.SIZE;

    private static long pool() throws IOException {
        return Long.parseLong(Files.readString(NR).strip());
    }

    @Test
    void aReservationRaisesThePoolAndGivesItBackOnClose() throws Exception {
        long before = pool();
        try (HugePages reserved = HugePages.reserve(3)) {
            assertEquals(3, reserved.count());
            assertEquals(before + 3, pool());
            assertTrue(HugePages.free() >= 3);
        }
        assertEquals(before, pool(), "the pages must be given back");
    }

    @Test
    void pagesOfAProcessKilledBeforeItGaveThemBackAreReleasedByTheNextReservation() throws Exception {
        long before = pool();
        Process victim = new ProcessBuilder("sleep", "60").start();
        try {
            // What the victim's reserve(2) leaves behind: the pool raised, its line in the ledger.
            String stat = Files.readString(Path.of("/proc", Long.toString(victim.pid()), "stat"));
            String start = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
            Path ledger = Path.of(System.getProperty("java.io.tmpdir"), "sabre-hugepages.lock");
            Files.writeString(ledger, victim.pid() + " " + start + " 2\n", java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            Files.writeString(NR, Long.toString(before + 2));
        } finally {
            victim.destroyForcibly().waitFor();
        }
        try (HugePages reserved = HugePages.reserve(1)) {
            assertEquals(before + 1, pool(), "the killed process's 2 pages must be given back");
        }
        assertEquals(before, pool());
    }

    @Test
    void mappingMoreHugePagesThanThePoolHasFreeSaysSo() throws Exception {
        long wanted = HugePages.free() + 1;
        LinuxException e = assertThrows(LinuxException.class, () -> HugePages.mapAnonymous(wanted * HUGE));
        assertEquals(Errno.ENOMEM, e.errno());
        assertTrue(e.getMessage().contains("free 2 MiB pages of the " + wanted + " needed"), e.getMessage());
    }

    @Test
    void moreThanTheHostHasIsRefusedWithThePoolUnchanged() throws Exception {
        long before = pool();
        IOException e = assertThrows(IOException.class, () -> HugePages.reserve(1L << 30));
        assertTrue(e.getMessage().startsWith("cannot reserve 1073741824 huge pages of 2 MiB"), e.getMessage());
        assertEquals(before, pool());
    }

    @Test
    void hugetlbMemoryIsFilledByWholeHugePagesAndRemovedByWholeHugePages() throws Exception {
        try (HugePages reserved = HugePages.reserve(2); Arena arena = Arena.ofShared();
             Userfaultfd uffd = Userfaultfd.create(true, false)) {
            uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
            MemorySegment memory = HugePages.mapAnonymous(2 * HUGE);
            try {
                uffd.register(memory.address(), memory.byteSize(), Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
                MemorySegment data = arena.allocate(HUGE, 4096);
                for (long i = 0; i < HUGE; i += 8) {
                    data.set(java.lang.foreign.ValueLayout.JAVA_LONG, i, i * 31 + 7);
                }
                // UFFDIO_ZEROPAGE does not apply to hugetlb, and a copy smaller than a huge page is refused.
                LinuxException zero = assertThrows(LinuxException.class, () -> uffd.zeroPage(memory.address(), HUGE, 0));
                assertEquals(Errno.EINVAL, zero.errno());
                LinuxException small = assertThrows(LinuxException.class,
                        () -> uffd.copy(memory.address(), data.asSlice(0, 4096), 0));
                assertEquals(Errno.EINVAL, small.errno());

                UffdFill copied = uffd.copy(memory.address(), data, 0);
                assertTrue(copied.complete(), copied.toString());
                assertEquals(HUGE, copied.bytes());
                assertEquals(0, Memory.compare(memory.asSlice(0, HUGE), data));
                assertTrue(uffd.copy(memory.address(), data, 0).alreadyPresent());

                // A balloon's madvise of a huge page arrives as one REMOVE of the whole 2 MiB.
                CompletableFuture<Void> balloon = CompletableFuture.runAsync(() -> {
                    try {
                        Memory.madvise(memory.asSlice(0, HUGE), Memory.MADV_DONTNEED);
                    } catch (LinuxException e) {
                        throw new IllegalStateException(e);
                    }
                });
                List<UffdEvent> events = List.of();
                for (int i = 0; i < 1000 && events.isEmpty(); i++) {
                    events = uffd.readEvents(4);
                    if (events.isEmpty()) {
                        Thread.sleep(10);
                    }
                }
                assertEquals(List.of(new UffdEvent.Remove(memory.address(), memory.address() + HUGE)), events);
                balloon.get(10, TimeUnit.SECONDS);
                assertTrue(uffd.copy(memory.address(), data, 0).complete(), "a removed huge page is missing again");
            } finally {
                Memory.munmap(memory);
            }
        }
    }
}
