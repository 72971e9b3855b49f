package dev.sabre.vmm.qemu;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UffdEvent;
import dev.sabre.linux.UffdFill;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.linux.UnixSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A minimal userfaultfd page-fault handler used only to test the preload bridge: it accepts one
 * Firecracker handshake, checks it, and serves every missing-page fault from the memory file with
 * UFFDIO_COPY until the VMM disconnects. It is a test fixture, not the product's handler.
 */
final class TestFaultHandler implements AutoCloseable {
    private static final long PAGE = 4096;

    private final Path socketPath;
    private final Path memoryFile;
    private final UnixSocket listener;
    private final Thread thread;
    private final AtomicLong faults = new AtomicLong();
    private final AtomicReference<String> handshake = new AtomicReference<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stop;

    TestFaultHandler(Path socketPath, Path memoryFile) throws LinuxException {
        this.socketPath = socketPath;
        this.memoryFile = memoryFile;
        this.listener = UnixSocket.listen(socketPath, 1);
        this.thread = Thread.ofPlatform().daemon().name("test-uffd-handler").start(this::run);
    }

    long faultsServed() {
        return faults.get();
    }

    String handshake() {
        return handshake.get();
    }

    Throwable failure() {
        return failure.get();
    }

    private void run() {
        try (Arena arena = Arena.ofShared();
             FileChannel file = FileChannel.open(memoryFile, StandardOpenOption.READ)) {
            MemorySegment memory = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
            UnixSocket connection = accept();
            if (connection == null) {
                return;
            }
            try (connection) {
                ReceivedMessage message = connection.receive(64 * 1024, 4);
                if (message.fds().length != 1) {
                    message.closeFds();
                    throw new IllegalStateException("handshake carried " + message.fds().length + " descriptors");
                }
                String json = new String(message.payload(), StandardCharsets.UTF_8);
                handshake.set(json);
                JsonArray regions = new Gson().fromJson(json, JsonArray.class);
                JsonObject region = regions.get(0).getAsJsonObject();
                long base = region.get("base_host_virt_addr").getAsLong();
                long size = region.get("size").getAsLong();
                long offset = region.get("offset").getAsLong();
                try (Userfaultfd uffd = Userfaultfd.adopt(message.fds()[0]);
                     PollSet poll = new PollSet(2)) {
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
                            if (event instanceof UffdEvent.PageFault fault) {
                                long page = fault.address() & -PAGE;
                                if (page < base || page >= base + size) {
                                    throw new IllegalStateException("fault outside the region: " + Long.toHexString(page));
                                }
                                serve(uffd, page, memory.asSlice(offset + page - base, PAGE));
                            }
                        }
                    }
                }
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    private void serve(Userfaultfd uffd, long page, MemorySegment source) throws LinuxException {
        while (true) {
            UffdFill fill = uffd.copy(page, source, 0);
            if (fill.complete() || fill.alreadyPresent()) {
                faults.incrementAndGet();
                return;
            }
            // EAGAIN: an event is pending; the fault will be raised again if still needed.
            for (UffdEvent ignored : uffd.readEvents(64)) {
                // REMOVE events are not expected from this guest
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
        Files.deleteIfExists(socketPath);
    }
}
