package dev.sabre.handler;

import dev.sabre.linux.Errno;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.UffdDescriptor;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.store.StoreTrace;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The page-fault handler service: listens on a Unix socket (mode 0600); a {@link HandshakeReceiver} holds
 * each connecting VMM on one shared thread until its handshake has arrived, then every VMM whose handshake
 * checks out gets its own {@link Session} on its own thread, so VMMs come and go, one after another or many
 * at once, and one VMM's bad handshake or death never affects another. What peers can make the handler
 * spend is bounded (docs/handler.md lists the bounds). Opens and validates the memory files once, at start,
 * so a corrupt snapshot is refused before any VMM is served. {@link #close} (what SIGTERM triggers) stops
 * accepting, ends every session (killing VMMs that would otherwise hang), writes pending working sets and
 * removes the socket.
 */
public final class PageFaultHandler implements AutoCloseable {
    /** VMMs served at once, at most: each costs a thread; one more is refused (and killed, as it would hang). */
    static final int MAX_SESSIONS = 1024;
    /** Reports of finished sessions kept for STATS and {@link #reports}; older ones are only counted. */
    static final int KEPT_REPORTS = 64;
    /** Stack of a session thread: its work is shallow, and a thousand default stacks would be 1 GiB reserved. */
    private static final long SESSION_STACK_BYTES = 512 * 1024;

    private final HandlerConfig config;
    private final MemorySources sources;
    private final UnixSocket listener;
    private final LogLimiter limiter;
    private final HandshakeReceiver receiver;
    private final ControlSocket control;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Map<Integer, Session> sessions = new ConcurrentHashMap<>();
    private final Map<Integer, Thread> threads = new ConcurrentHashMap<>();
    private final ArrayDeque<SessionReport> reports = new ArrayDeque<>();
    private final AtomicLong finished = new AtomicLong();
    private final List<java.util.function.Consumer<SessionReport>> listeners = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<String>> dropListeners = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private PageFaultHandler(HandlerConfig config, MemorySources sources, UnixSocket listener) throws IOException {
        this.config = config;
        this.sources = sources;
        this.listener = listener;
        this.limiter = new LogLimiter(config.log());
        StrategyPolicy policy = config.strategy().policy();
        this.receiver = new HandshakeReceiver(listener, config.handshakeTimeout(), this::admit, limiter,
                (kind, detail) -> dropListeners.forEach(l -> l.accept(kind + ": " + detail)), () -> {
                    StoreTrace.event("connection accepted");
                    policy.connecting(sources);
                });
        ControlSocket c = null;
        try {
            c = config.control() != null ? ControlSocket.start(config.control(), this) : null;
        } catch (IOException | RuntimeException e) {
            receiver.close();
            throw e;
        }
        this.control = c;
    }

    /** Opens the memory files, binds the socket and starts accepting VMMs. */
    public static PageFaultHandler start(HandlerConfig config) throws IOException {
        MemorySources sources = config.strategy().policy().open(config);
        UnixSocket listener = null;
        try {
            listener = bind(config.socket());
            PageFaultHandler handler = new PageFaultHandler(config, sources, listener);
            config.log().printf("sabre handler: serving %s (%d MiB, %s) with strategy %s on %s%n",
                    config.store() != null ? config.store() : config.memory(), sources.memorySize() >> 20,
                    sources.storeSnapshot() != null ? "snapshot store" : sources.snapshot() != null ? "sabre snapshot"
                            : "raw memory file",
                    config.strategy(), config.socket());
            return handler;
        } catch (IOException | RuntimeException e) {
            if (listener != null) {
                listener.close();
                Files.deleteIfExists(config.socket());
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
        UnixSocket listener = UnixSocket.listen(path, 1024);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        return listener;
    }

    public HandlerConfig config() {
        return config;
    }

    /** Reports of the last {@link #KEPT_REPORTS} sessions that ended, in the order they ended. */
    public List<SessionReport> reports() {
        synchronized (reports) {
            return List.copyOf(reports);
        }
    }

    /** How many sessions have ended since the start. */
    public long finishedSessions() {
        return finished.get();
    }

    /**
     * Calls {@code listener} with a one-line reason for every connection dropped before it became a session
     * (no handshake in time, a refused handshake, ...), from the accepting thread.
     */
    public void onConnectionDropped(java.util.function.Consumer<String> listener) {
        dropListeners.add(listener);
    }

    /** Connections accepted that have not completed their handshake yet. */
    public int pendingConnections() {
        return receiver.pendingCount();
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

    /**
     * Checks a complete handshake (on the receiver's thread) and starts a session for it. Refusals are
     * thrown; a VMM that already handed over a real userfaultfd registered its memory and would wait for
     * pages forever, so it is killed first.
     */
    private void admit(HandshakeReceiver.Arrival arrival) throws HandshakeException {
        StoreTrace.event("handshake received");
        if (arrival.fds().length != 1) {
            throw new HandshakeException("handshake carried " + arrival.fds().length
                    + " file descriptors, expected exactly 1 (the userfaultfd)");
        }
        int fd = arrival.fds()[0];
        long features;
        try {
            features = UffdDescriptor.features(fd);
        } catch (LinuxException e) {
            throw new HandshakeException("the descriptor sent with the handshake is not usable: " + e.getMessage());
        }
        String refusal = null;
        Handshake handshake = null;
        if ((features & Userfaultfd.UFFD_FEATURE_EVENT_REMOVE) == 0) {
            refusal = "its userfaultfd lacks UFFD_FEATURE_EVENT_REMOVE: memory the guest gives back would read as "
                    + "old snapshot data instead of zeros";
        } else if (closed) {
            refusal = "the handler is shutting down";
        } else if (sessions.size() >= MAX_SESSIONS) {
            refusal = "the handler already serves " + MAX_SESSIONS + " VMMs";
        } else {
            try {
                handshake = Handshake.parse(new String(arrival.payload(), StandardCharsets.UTF_8),
                        sources.memorySize());
            } catch (HandshakeException e) {
                refusal = e.getMessage();
            }
        }
        if (refusal != null) {
            killRefused(arrival, refusal);
            throw new HandshakeException(refusal);
        }
        int id = nextId.getAndIncrement();
        Session session;
        try {
            session = new Session(id, arrival.connection(), arrival.peer(), Userfaultfd.adopt(fd), handshake, sources,
                    config, this::ended);
        } catch (LinuxException | RuntimeException e) {
            killRefused(arrival, "cannot start a session: " + e.getMessage());
            throw new HandshakeException("cannot start a session: " + e.getMessage());
        }
        sessions.put(id, session);
        try {
            threads.put(id, Thread.ofPlatform().name("sabre-vmm-" + id).stackSize(SESSION_STACK_BYTES)
                    .start(session::run));
        } catch (Throwable t) {
            sessions.remove(id);
            threads.remove(id);
            killRefused(arrival, "cannot start a session thread: " + t);
            throw new HandshakeException("cannot start a session thread: " + t);
        }
    }

    /** Kills a VMM whose userfaultfd we hold but will not serve; says what is killed. */
    private void killRefused(HandshakeReceiver.Arrival arrival, String why) {
        limiter.note("refused VMM", Session.kill(arrival.peer(), config, why));
    }

    private void ended(SessionReport report) {
        synchronized (reports) {
            reports.addLast(report);
            if (reports.size() > KEPT_REPORTS) {
                reports.removeFirst();
            }
        }
        finished.incrementAndGet();
        sessions.remove(report.id());
        threads.remove(report.id());
        for (var listener : listeners) {
            listener.accept(report);
        }
    }

    /** Blocks until the handler is closed (by {@link #close} from another thread, e.g. a SIGTERM hook). */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            receiver.close();
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
            sources.close();
            config.log().println("sabre handler: shut down after " + finished.get() + " session(s)");
            terminated.countDown();
        }
    }
}
