package dev.sabre.handler;

import dev.sabre.linux.Errno;
import dev.sabre.linux.EventFd;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.UnixSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The page-fault handler service: listens on a Unix socket (mode 0600) and gives every VMM that connects
 * its own {@link Session} on its own thread, so VMMs come and go, one after another or many at once, and
 * one VMM's bad handshake or death never affects another. Opens and validates the memory files once, at
 * start, so a corrupt snapshot is refused before any VMM is served. {@link #close} (what SIGTERM triggers)
 * stops accepting, ends every session (killing VMMs that would otherwise hang), writes pending working sets
 * and removes the socket.
 */
public final class PageFaultHandler implements AutoCloseable {
    private final HandlerConfig config;
    private final MemorySources sources;
    private final UnixSocket listener;
    private final EventFd stop;
    private final Thread acceptor;
    private final ControlSocket control;
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Map<Integer, Session> sessions = new ConcurrentHashMap<>();
    private final Map<Integer, Thread> threads = new ConcurrentHashMap<>();
    private final List<SessionReport> reports = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<SessionReport>> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private PageFaultHandler(HandlerConfig config, MemorySources sources, UnixSocket listener, EventFd stop)
            throws IOException {
        this.config = config;
        this.sources = sources;
        this.listener = listener;
        this.stop = stop;
        this.control = config.control() != null ? ControlSocket.start(config.control(), this) : null;
        this.acceptor = Thread.ofPlatform().name("sabre-handler-accept").start(this::acceptLoop);
    }

    /** Opens the memory files, binds the socket and starts accepting VMMs. */
    public static PageFaultHandler start(HandlerConfig config) throws IOException {
        MemorySources sources = MemorySources.open(config);
        UnixSocket listener = null;
        EventFd stop = null;
        try {
            listener = bind(config.socket());
            stop = EventFd.create(true);
            PageFaultHandler handler = new PageFaultHandler(config, sources, listener, stop);
            config.log().printf("sabre handler: serving %s (%d MiB, %s) with strategy %s on %s%n", config.memory(),
                    sources.memorySize() >> 20, sources.snapshot() != null ? "sabre snapshot" : "raw memory file",
                    config.strategy(), config.socket());
            return handler;
        } catch (IOException | RuntimeException e) {
            if (listener != null) {
                listener.close();
                Files.deleteIfExists(config.socket());
            }
            if (stop != null) {
                stop.close();
            }
            sources.close();
            throw e;
        }
    }

    /**
     * Binds a listening socket readable and writable only by its owner. A stale socket left by a dead
     * handler is replaced; a live one (something accepts connections there) is an error.
     */
    static UnixSocket bind(Path path) throws IOException {
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            int mode = (Integer) Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if ((mode & 0170000) != 0140000) {
                throw new IOException(path + " exists and is not a socket; refusing to replace it");
            }
            try (UnixSocket probe = UnixSocket.connect(path)) {
                throw new IOException(path + ": another process is already listening there");
            } catch (LinuxException e) {
                if (e.errno() != Errno.ECONNREFUSED) {
                    throw new IOException(path + " exists and is not a stale socket: " + e.getMessage(), e);
                }
                Files.delete(path);
            }
        }
        UnixSocket listener = UnixSocket.listen(path, 64);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        return listener;
    }

    public HandlerConfig config() {
        return config;
    }

    /** Reports of the sessions that have ended, in the order they ended. */
    public List<SessionReport> reports() {
        return List.copyOf(reports);
    }

    /** Calls {@code listener} with each session's report when it ends (from the session's thread). */
    public void onSessionEnd(java.util.function.Consumer<SessionReport> listener) {
        listeners.add(listener);
    }

    /** Number of VMMs being served now. */
    public int activeSessions() {
        return sessions.size();
    }

    /** RECORD on every session: start recording working sets afresh. Returns how many sessions started. */
    public int startRecording() {
        sessions.values().forEach(Session::startRecording);
        return sessions.size();
    }

    /** STOP_RECORD on every session: stop recording and write the working sets; returns the files written. */
    public List<Path> stopRecording() throws IOException {
        List<Path> written = new ArrayList<>();
        for (Session s : sessions.values()) {
            Path p = s.stopRecording();
            if (p != null) {
                written.add(p);
            }
        }
        return written;
    }

    private void acceptLoop() {
        try (PollSet poll = new PollSet(2)) {
            int listening = poll.add(listener.fd(), PollSet.POLLIN);
            int stopping = poll.add(stop.fd(), PollSet.POLLIN);
            while (!closed) {
                poll.poll(-1);
                if (poll.ready(stopping) || closed) {
                    return;
                }
                if (poll.ready(listening)) {
                    accept();
                }
            }
        } catch (Throwable t) {
            config.log().println("sabre handler: accept loop failed: " + t.getMessage());
        }
    }

    private void accept() {
        UnixSocket connection;
        try {
            connection = listener.accept();
        } catch (LinuxException e) {
            config.log().println("sabre handler: accept failed: " + e.getMessage());
            return;
        }
        int id = nextId.getAndIncrement();
        try {
            Session session = new Session(id, connection, sources, config, this::ended);
            sessions.put(id, session);
            threads.put(id, Thread.ofPlatform().name("sabre-vmm-" + id).start(session::run));
        } catch (LinuxException | RuntimeException e) {
            config.log().println("sabre handler: vmm " + id + ": cannot start a session: " + e.getMessage());
            try {
                connection.close();
            } catch (LinuxException ignored) {
                // already failing
            }
        }
    }

    private void ended(SessionReport report) {
        reports.add(report);
        sessions.remove(report.id());
        threads.remove(report.id());
        for (var listener : listeners) {
            listener.accept(report);
        }
    }

    /** Blocks until the handler is closed (by {@link #close} from another thread, e.g. a SIGTERM hook). */
    public void awaitTermination() throws InterruptedException {
        acceptor.join();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        stop.signal();
        try {
            acceptor.join();
            if (control != null) {
                control.close();
            }
            for (Session s : sessions.values()) {
                s.stop("the handler is shutting down");
            }
            for (Thread t : List.copyOf(threads.values())) {
                t.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            listener.close();
            Files.deleteIfExists(config.socket());
            stop.close();
            sources.close();
            config.log().println("sabre handler: shut down after " + reports.size() + " session(s)");
        }
    }
}
