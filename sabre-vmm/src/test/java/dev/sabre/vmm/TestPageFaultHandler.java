package dev.sabre.vmm;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UffdEvent;
import dev.sabre.linux.UffdFill;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A minimal page-fault handler for the VMM drivers' tests, written apart from sabre-handler so a driver's
 * side of the handshake is checked against an independent implementation: it accepts one Firecracker
 * handshake, checks it, and serves every missing page lazily from a {@link PageSource} with UFFDIO_COPY;
 * pages removed by the guest (UFFD_EVENT_REMOVE) are served as zeros afterwards, as contract 3 demands.
 * It stops when the VMM disconnects. Shared with sabre-firecracker's tests through sabre-vmm's test jar.
 */
public final class TestPageFaultHandler implements AutoCloseable {
    private static final int PAGE = 4096;

    /** Where page contents come from. */
    public interface PageSource extends AutoCloseable {
        /** Fills {@code dst} (one page) with guest page {@code page}. */
        void read(long page, MemorySegment dst) throws IOException;

        @Override
        void close() throws IOException;
    }

    /** Pages of a raw memory file (file offset = guest memory offset). */
    public static PageSource raw(Path memoryFile) throws IOException {
        Arena arena = Arena.ofShared();
        MemorySegment mapped;
        try (FileChannel file = FileChannel.open(memoryFile, StandardOpenOption.READ)) {
            mapped = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
        }
        return new PageSource() {
            @Override
            public void read(long page, MemorySegment dst) {
                dev.sabre.linux.Memory.copy(mapped.asSlice(page * PAGE, PAGE), dst);
            }

            @Override
            public void close() {
                arena.close();
            }
        };
    }

    private final Path socketPath;
    private final PageSource source;
    private final UnixSocket listener;
    private final Thread thread;
    private final AtomicLong faults = new AtomicLong();
    private final AtomicLong removes = new AtomicLong();
    private final AtomicReference<String> handshake = new AtomicReference<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stop;

    public TestPageFaultHandler(Path socketPath, PageSource source) throws LinuxException {
        this.socketPath = socketPath;
        this.source = source;
        this.listener = UnixSocket.listen(socketPath, 1);
        this.thread = Thread.ofPlatform().daemon().name("test-uffd-handler").start(this::run);
    }

    public Path socket() {
        return socketPath;
    }

    public long faultsServed() {
        return faults.get();
    }

    public long removeEvents() {
        return removes.get();
    }

    public String handshake() {
        return handshake.get();
    }

    public Throwable failure() {
        return failure.get();
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(PAGE, PAGE);
            UnixSocket connection = accept();
            if (connection == null) {
                return;
            }
            try (connection) {
                ReceivedMessage message = connection.receive(64 * 1024, 4);
                if (message.fds().length != 1) {
                    message.closeFds();
                    throw new IllegalStateException("handshake carried " + message.fds().length + " descriptors, expected 1");
                }
                String json = new String(message.payload(), StandardCharsets.UTF_8);
                handshake.set(json);
                JsonObject region = new Gson().fromJson(json, JsonArray.class).get(0).getAsJsonObject();
                long base = region.get("base_host_virt_addr").getAsLong();
                long size = region.get("size").getAsLong();
                long offset = region.get("offset").getAsLong();
                BitSet removed = new BitSet();
                try (Userfaultfd uffd = Userfaultfd.adopt(message.fds()[0]); PollSet poll = new PollSet(2)) {
                    poll.add(uffd.fd(), PollSet.POLLIN);
                    poll.add(connection.fd(), PollSet.POLLIN);
                    while (!stop) {
                        if (poll.poll(100) == 0) {
                            continue;
                        }
                        if (poll.ready(1)) {
                            return; // the VMM closed its end: it exited
                        }
                        for (UffdEvent event : uffd.readEvents(64)) {
                            switch (event) {
                                case UffdEvent.PageFault fault -> {
                                    long address = fault.address() & -PAGE;
                                    if (address < base || address >= base + size) {
                                        throw new IllegalStateException("fault outside the region: 0x" + Long.toHexString(address));
                                    }
                                    long page = (offset + address - base) / PAGE;
                                    serve(uffd, address, page, base - offset, removed, buffer);
                                }
                                case UffdEvent.Remove r -> {
                                    removes.incrementAndGet();
                                    removed.set((int) ((offset + r.start() - base) / PAGE), (int) ((offset + r.end() - base) / PAGE));
                                }
                                default -> { }
                            }
                        }
                    }
                }
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private void serve(Userfaultfd uffd, long address, long page, long base, BitSet removed, MemorySegment buffer) throws IOException {
        while (true) {
            UffdFill fill;
            if (removed.get((int) page)) {
                fill = uffd.zeroPage(address, PAGE, 0);
            } else {
                source.read(page, buffer);
                fill = uffd.copy(address, buffer, 0);
            }
            if (fill.complete() || fill.alreadyPresent()) {
                faults.incrementAndGet();
                return;
            }
            // EAGAIN: a REMOVE is pending; read it and retry.
            for (UffdEvent e : uffd.readEvents(64)) {
                if (e instanceof UffdEvent.Remove r) {
                    removes.incrementAndGet();
                    removed.set((int) ((r.start() - base) / PAGE), (int) ((r.end() - base) / PAGE));
                }
            }
        }
    }

    private UnixSocket accept() throws LinuxException {
        try (PollSet poll = new PollSet(1)) {
            poll.add(listener.fd(), PollSet.POLLIN);
            while (!stop) {
                if (poll.poll(100) > 0) {
                    return listener.accept();
                }
            }
            return null;
        }
    }

    @Override
    public void close() throws IOException {
        stop = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.close();
        source.close();
        Files.deleteIfExists(socketPath);
    }
}
