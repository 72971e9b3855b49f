package dev.sabre.linux;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A reservation of the host's explicit 2 MiB huge pages (hugetlb), the memory a VMM maps with
 * {@code MAP_HUGETLB}: {@link #reserve} raises the host's 2 MiB pool by N pages and {@link #close} lowers it
 * by the same N again, so the pages are always given back. Raising and lowering by N (rather than writing
 * back the value seen at the start) keeps other users' reservations made meanwhile intact; a lock file
 * serializes the read-modify-write across processes. The lock file is also a ledger of live reservations
 * (pid, process start time, N): a process that dies without closing (SIGKILL, a crash) cannot give its
 * pages back, so the next reservation on the host does it for it. A JVM shutdown hook covers SIGTERM.
 * Writing the pool needs root.
 *
 * <p>The pool is the 2 MiB size's own sysfs file, which is what {@code /proc/sys/vm/nr_hugepages} sets when
 * 2 MiB is the default huge-page size, and stays right on hosts whose default is 1 GiB.
 */
public final class HugePages implements AutoCloseable {
    /** The huge-page size this class reserves and maps: 2 MiB, what Firecracker's {@code huge_pages: "2M"} uses. */
    public static final long SIZE = 2L << 20;

    private static final Path POOL = Path.of("/sys/kernel/mm/hugepages/hugepages-2048kB");
    private static final Path LOCK = Path.of(System.getProperty("java.io.tmpdir"), "sabre-hugepages.lock");

    private final long count;
    private final String ledgerEntry;
    private final Thread onShutdown = new Thread(this::closeQuietly, "sabre-hugepages-release");
    private boolean closed;

    private HugePages(long count, String ledgerEntry) {
        this.count = count;
        this.ledgerEntry = ledgerEntry;
    }

    /**
     * Adds {@code count} 2 MiB pages to the host's pool, or throws, with the pool as it was, when the host
     * cannot provide them all (not enough memory available, or too fragmented to find them).
     */
    public static HugePages reserve(long count) throws IOException {
        if (count < 0) {
            throw new IllegalArgumentException("cannot reserve " + count + " huge pages");
        }
        if (!Files.isDirectory(POOL)) {
            throw new IOException(POOL + " is missing: this kernel has no 2 MiB huge pages");
        }
        long available = memAvailableBytes();
        if (count * SIZE > available) {
            throw new IOException("cannot reserve " + count + " huge pages of 2 MiB (" + (count * SIZE >> 20)
                    + " MiB): the host has only " + (available >> 20) + " MiB available");
        }
        String entry = ProcessHandle.current().pid() + " " + startTime(ProcessHandle.current().pid()) + " " + count;
        synchronized (HugePages.class) {
            reserveLocked(count, entry);
        }
        HugePages reservation = new HugePages(count, entry);
        Runtime.getRuntime().addShutdownHook(reservation.onShutdown);
        return reservation;
    }

    private static void reserveLocked(long count, String entry) throws IOException {
        try (FileChannel lock = lockPool()) {
            List<String> ledger = releaseDeadReservations(readLedger(lock));
            long before = read("nr_hugepages");
            write(before + count);
            long after = read("nr_hugepages");
            if (after < before + count) {
                write(before);
                writeLedger(lock, ledger);
                throw new IOException("the host could reserve only " + Math.max(0, after - before) + " of " + count
                        + " huge pages of 2 MiB (" + POOL.resolve("nr_hugepages") + ": memory too fragmented?)");
            }
            ledger.add(entry);
            writeLedger(lock, ledger);
        }
    }

    /** How many 2 MiB pages this reservation added to the pool. */
    public long count() {
        return count;
    }

    /** Free 2 MiB pages in the host's pool right now (any user's). */
    public static long free() throws IOException {
        return read("free_hugepages");
    }

    /**
     * A private anonymous mapping backed by 2 MiB huge pages, reserved from the pool now (so a host without
     * enough free huge pages fails here, not at the first fault). {@code length} must be a multiple of 2 MiB.
     */
    public static MemorySegment mapAnonymous(long length) throws LinuxException {
        if (length <= 0 || length % SIZE != 0) {
            throw new IllegalArgumentException("huge-page mapping of " + length + " bytes: not a positive multiple of 2 MiB");
        }
        try {
            return Memory.mmap(0, length, Memory.PROT_READ | Memory.PROT_WRITE,
                    Memory.MAP_PRIVATE | Memory.MAP_ANONYMOUS | Memory.MAP_HUGETLB, -1, 0);
        } catch (LinuxException e) {
            if (e.errno() != Errno.ENOMEM) {
                throw e;
            }
            String free;
            try {
                free = Long.toString(free());
            } catch (IOException unreadable) {
                free = "unknown";
            }
            throw new LinuxException("mmap(" + (length >> 20) + " MiB, MAP_HUGETLB)", e.errno(), "the host's pool has "
                    + free + " free 2 MiB pages of the " + length / SIZE + " needed (reserve them first)");
        }
    }

    /** Gives the pages back to the host: lowers the pool by {@link #count}. Idempotent. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(onShutdown);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: this is the hook
        }
        synchronized (HugePages.class) {
            try (FileChannel lock = lockPool()) {
                List<String> ledger = readLedger(lock);
            ledger.remove(ledgerEntry);
                write(Math.max(0, read("nr_hugepages") - count));
                writeLedger(lock, ledger);
            }
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException e) {
            System.err.println("sabre: could not give back " + count + " huge pages: " + e.getMessage());
        }
    }

    /** Lowers the pool by the pages of reservations whose process is gone; returns the live entries. */
    private static List<String> releaseDeadReservations(List<String> ledger) throws IOException {
        List<String> live = new ArrayList<>();
        for (String line : ledger) {
            String[] f = line.split(" ");
            if (f.length != 3 || !f[0].matches("[0-9]+") || !f[2].matches("[0-9]+")) {
                continue; // not ours to interpret; dropping it keeps the ledger parseable
            }
            if (startTime(Long.parseLong(f[0])).equals(f[1])) {
                live.add(line);
            } else {
                write(Math.max(0, read("nr_hugepages") - Long.parseLong(f[2])));
            }
        }
        return live;
    }

    /** A process's start time (field 22 of /proc/PID/stat), telling it apart from a later one with its pid; "-" if gone. */
    private static String startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
        } catch (IOException | RuntimeException e) {
            return "-";
        }
    }

    // Through the locked channel itself: closing any other descriptor of the file would drop the lock.
    private static List<String> readLedger(FileChannel ledger) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate((int) Math.min(ledger.size(), 1 << 20));
        while (bytes.hasRemaining() && ledger.read(bytes, bytes.position()) > 0) {
            // read on
        }
        List<String> lines = new ArrayList<>(List.of(new String(bytes.array(), 0, bytes.position(),
                StandardCharsets.US_ASCII).split("\n")));
        lines.removeIf(String::isBlank);
        return lines;
    }

    private static void writeLedger(FileChannel ledger, List<String> lines) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((lines.isEmpty() ? "" : String.join("\n", lines) + "\n")
                .getBytes(StandardCharsets.US_ASCII));
        ledger.truncate(0);
        while (bytes.hasRemaining()) {
            ledger.write(bytes, bytes.position());
        }
    }

    /** The ledger, locked against other processes; the caller holds the class monitor against this one's threads. */
    private static FileChannel lockPool() throws IOException {
        FileChannel channel = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            FileLock ignored = channel.lock(); // released when the channel closes
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static long read(String name) throws IOException {
        Path file = POOL.resolve(name);
        try {
            return Long.parseLong(Files.readString(file).strip());
        } catch (NumberFormatException e) {
            throw new IOException(file + ": not a number", e);
        }
    }

    private static void write(long pages) throws IOException {
        Path file = POOL.resolve("nr_hugepages");
        try {
            Files.writeString(file, Long.toString(pages));
        } catch (IOException e) {
            throw new IOException("cannot set " + file + " to " + pages + " (root needed): " + e.getMessage(), e);
        }
    }

    private static long memAvailableBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("/proc/meminfo has no MemAvailable line");
    }
}
