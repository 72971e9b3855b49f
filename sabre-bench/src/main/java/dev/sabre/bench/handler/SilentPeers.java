package dev.sabre.bench.handler;

import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.UnixSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The attacker: opens {@code count} connections to the handler that never send a handshake and holds them
 * open; with {@code reconnect}, also connects again for each one the handler closes, on its own thread
 * until {@link #close}.
 */
final class SilentPeers implements AutoCloseable {
    private final Path socket;
    private final int count;
    private final boolean reconnect;
    private final List<UnixSocket> open = new ArrayList<>();
    private final AtomicLong connects = new AtomicLong();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile String failure;

    SilentPeers(Path socket, int count, boolean reconnect) {
        this.socket = socket;
        this.count = count;
        this.reconnect = reconnect;
        this.thread = Thread.ofPlatform().name("bench-silent-peers").start(this::run);
    }

    long connects() {
        return connects.get();
    }

    private void run() {
        try (PollSet poll = new PollSet(count)) {
            while (!stopping) {
                while (open.size() < count && !stopping && (reconnect || connects.get() < count)) {
                    open.add(UnixSocket.connect(socket));
                    connects.incrementAndGet();
                }
                poll.clear();
                for (UnixSocket s : open) {
                    poll.add(s.fd(), PollSet.POLLRDHUP);
                }
                poll.poll(100);
                List<UnixSocket> still = new ArrayList<>(open.size());
                for (int i = 0; i < open.size(); i++) {
                    if (poll.ready(i)) {
                        open.get(i).close(); // the handler dropped it: connect again
                    } else {
                        still.add(open.get(i));
                    }
                }
                open.clear();
                open.addAll(still);
            }
        } catch (LinuxException e) {
            if (!stopping) {
                failure = e.getMessage();
            }
        }
    }

    /**
     * Stops reconnecting and closes every connection; says so if connecting failed earlier (expected only
     * once the handler has been told to stop and removed its socket).
     */
    @Override
    public void close() throws InterruptedException {
        stopping = true;
        thread.join();
        for (UnixSocket s : open) {
            try {
                s.close();
            } catch (LinuxException ignored) {
                // closing anyway
            }
        }
        open.clear();
        if (failure != null) {
            System.err.println("bench handler: the silent peers stopped early: " + failure);
        }
    }
}
