package dev.sabre.handler;

import dev.sabre.linux.Errno;
import dev.sabre.linux.EventFd;
import dev.sabre.linux.Fds;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PidFd;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UnixSocket;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Accepts VMM connections and holds each one until its whole handshake has arrived, all on one thread: a
 * connection that has not completed its handshake costs no thread, two descriptors (the socket and a pidfd
 * of the peer) and at most {@link #MAX_HANDSHAKE} bytes. At most {@link #MAX_PENDING} connections wait at
 * once; when more arrive the oldest is dropped, so a flood of silent connections cannot lock out a VMM that
 * sends its handshake at once. A connection is dropped when its handshake takes longer than the configured
 * time-out. When accept fails for lack of descriptors the listener rests for a moment instead of spinning.
 * Everything a peer can repeat is logged through a {@link LogLimiter}.
 *
 * <p>A stream socket may deliver one handshake message in several parts; the payload is read until the
 * JSON array it starts is closed (or the size bound is reached), then handed on.
 */
final class HandshakeReceiver implements AutoCloseable {
    /** Connections waiting for their handshake, at most. */
    static final int MAX_PENDING = 256;
    /** A handshake is one JSON array of at most this many bytes (1,024 regions fit easily). */
    static final int MAX_HANDSHAKE = 64 * 1024;
    /** Descriptors a handshake may carry before it is refused (exactly one is valid). */
    private static final int MAX_FDS = 4;
    private static final int ACCEPTS_PER_WAKE = 64;
    private static final long ACCEPT_REST_MILLIS = 100;

    /** A connection whose handshake arrived in full: the payload and every descriptor that came with it. */
    record Arrival(UnixSocket connection, PidFd peer, byte[] payload, int[] fds) {
        void close() {
            for (int fd : fds) {
                Fds.closeQuietly(fd);
            }
            closeConnection(connection, peer);
        }
    }

    /** Takes a complete handshake; a refusal is thrown with the reason (the receiver closes the arrival). */
    interface Admission {
        void admit(Arrival arrival) throws HandshakeException;
    }

    private static final class Pending {
        final UnixSocket connection;
        final PidFd peer;
        final long deadline;
        final ByteArrayOutputStream payload = new ByteArrayOutputStream();
        final List<Integer> fds = new ArrayList<>(1);
        final JsonEnd end = new JsonEnd();
        /** Payload size when it was last parsed to look for early errors; doubling keeps it linear. */
        int parsedAt;

        Pending(UnixSocket connection, PidFd peer, long deadline) {
            this.connection = connection;
            this.peer = peer;
            this.deadline = deadline;
        }

        void drop() {
            fds.forEach(Fds::closeQuietly);
            closeConnection(connection, peer);
        }
    }

    private final UnixSocket listener;
    private final Duration timeout;
    private final Admission admission;
    private final LogLimiter limiter;
    private final BiConsumer<String, String> onDrop;
    private final EventFd stop;
    private final List<Pending> pending = new ArrayList<>();
    private final Thread thread;
    /** Told of each connection accepted, before its handshake arrives. */
    private final Runnable onConnect;
    private long restUntil;

    /**
     * Starts accepting on {@code listener}. Every connection dropped or handshake refused goes to
     * {@code onDrop} (kind, what happened) as well as to the rate-limited log. {@code onConnect} runs on this
     * thread for each connection accepted, before its handshake: it must return at once.
     */
    HandshakeReceiver(UnixSocket listener, Duration timeout, Admission admission, LogLimiter limiter,
                      BiConsumer<String, String> onDrop, Runnable onConnect) throws LinuxException {
        this.listener = listener;
        this.onConnect = onConnect;
        this.timeout = timeout;
        this.admission = admission;
        this.limiter = limiter;
        this.onDrop = onDrop;
        this.stop = EventFd.create(true);
        Fds.setNonBlocking(listener.fd(), true);
        this.thread = Thread.ofPlatform().name("sabre-handler-accept").start(this::loop);
    }

    /** Connections accepted whose handshake has not arrived yet. */
    int pendingCount() {
        synchronized (pending) {
            return pending.size();
        }
    }

    private void loop() {
        // Index 0: stop; 1: the listener (unless resting); then every pending connection.
        try (PollSet poll = new PollSet(MAX_PENDING + 2)) {
            List<Pending> polled = new ArrayList<>(MAX_PENDING);
            while (true) {
                long now = System.nanoTime();
                poll.clear();
                poll.add(stop.fd(), PollSet.POLLIN);
                boolean listening = now >= restUntil;
                poll.add(listening ? listener.fd() : -1, PollSet.POLLIN);
                polled.clear();
                synchronized (pending) {
                    polled.addAll(pending);
                }
                for (Pending p : polled) {
                    poll.add(p.connection.fd(), PollSet.POLLIN);
                }
                poll.poll(waitMillis(now, polled));
                if (poll.ready(0)) {
                    return;
                }
                for (int i = 0; i < polled.size(); i++) {
                    if (poll.ready(i + 2)) {
                        receive(polled.get(i));
                    }
                }
                if (listening && poll.ready(1)) {
                    acceptSome();
                }
                expire();
                limiter.flushIfDue();
            }
        } catch (Throwable t) {
            limiter.note("accept loop failed", String.valueOf(t));
        } finally {
            synchronized (pending) {
                pending.forEach(Pending::drop);
                pending.clear();
            }
        }
    }

    private long waitMillis(long now, List<Pending> polled) {
        long wait = Long.MAX_VALUE;
        if (!polled.isEmpty()) {
            wait = Math.max(0, (polled.getFirst().deadline - now) / 1_000_000L) + 1;
        }
        if (now < restUntil) {
            wait = Math.min(wait, (restUntil - now) / 1_000_000L + 1);
        }
        long due = limiter.millisUntilDue();
        if (due >= 0) {
            wait = Math.min(wait, due);
        }
        return wait == Long.MAX_VALUE ? -1 : wait;
    }

    private void acceptSome() {
        for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
            UnixSocket connection;
            try {
                connection = listener.accept(true);
            } catch (LinuxException e) {
                if (e.errno() != Errno.EAGAIN) {
                    // EMFILE/ENFILE and the like: rest instead of spinning on a listener that stays readable.
                    restUntil = System.nanoTime() + ACCEPT_REST_MILLIS * 1_000_000L;
                    limiter.note("accept failed", e.getMessage());
                }
                return;
            }
            PidFd peer;
            try {
                peer = PidFd.ofPeer(connection);
            } catch (LinuxException e) {
                closeConnection(connection, null);
                dropped("connection dropped", "cannot identify the peer: " + e.getMessage());
                continue;
            }
            synchronized (pending) {
                if (pending.size() >= MAX_PENDING) {
                    pending.removeFirst().drop();
                    dropped("connection dropped", MAX_PENDING + " connections were already waiting to send their "
                            + "handshake; dropped the oldest");
                }
                pending.add(new Pending(connection, peer, System.nanoTime() + timeout.toNanos()));
            }
            try {
                onConnect.run();
            } catch (RuntimeException e) {
                limiter.note("connect hook failed", String.valueOf(e));
            }
        }
    }

    private void receive(Pending p) {
        ReceivedMessage message;
        try {
            message = p.connection.receive(MAX_HANDSHAKE + 1 - p.payload.size(), MAX_FDS);
        } catch (LinuxException e) {
            if (e.errno() == Errno.EAGAIN) {
                return;
            }
            refuse(p, "cannot receive the handshake: " + e.getMessage());
            return;
        }
        for (int fd : message.fds()) {
            p.fds.add(fd);
        }
        if (message.isEndOfStream()) {
            refuse(p, p.payload.size() == 0 ? "disconnected before sending its handshake"
                    : "disconnected in the middle of its handshake (" + p.payload.size() + " bytes)");
            return;
        }
        p.payload.writeBytes(message.payload());
        if (p.payload.size() > MAX_HANDSHAKE) {
            refuse(p, "handshake longer than " + MAX_HANDSHAKE + " bytes");
        } else if (p.end.feed(message.payload()) || malformedAlready(p)) {
            remove(p);
            Arrival arrival = new Arrival(p.connection, p.peer, p.payload.toByteArray(),
                    p.fds.stream().mapToInt(Integer::intValue).toArray());
            try {
                admission.admit(arrival);
            } catch (HandshakeException e) {
                arrival.close();
                dropped("handshake refused", p.peer.describe() + ": " + e.getMessage());
            } catch (RuntimeException e) {
                arrival.close();
                dropped("handshake refused", p.peer.describe() + ": handler error: " + e);
            }
        }
    }

    /** Whether the payload so far is already malformed (so waiting for more is pointless), checked now and then. */
    private static boolean malformedAlready(Pending p) {
        if (p.payload.size() < 2 * p.parsedAt) {
            return false;
        }
        p.parsedAt = p.payload.size();
        return !Json.isIncomplete(p.payload.toString(StandardCharsets.UTF_8));
    }

    private void refuse(Pending p, String why) {
        remove(p);
        p.drop();
        dropped("connection dropped", p.peer.describe() + " " + why);
    }

    private void dropped(String kind, String detail) {
        limiter.note(kind, detail);
        onDrop.accept(kind, detail);
    }

    private void remove(Pending p) {
        synchronized (pending) {
            pending.remove(p);
        }
    }

    private void expire() {
        long now = System.nanoTime();
        while (true) {
            Pending oldest;
            synchronized (pending) {
                if (pending.isEmpty() || pending.getFirst().deadline > now) {
                    return;
                }
                oldest = pending.removeFirst();
            }
            oldest.drop();
            dropped("connection dropped", oldest.peer.describe() + " sent no complete handshake within "
                    + timeout.toMillis() + " ms");
        }
    }

    /**
     * Finds where a JSON value ends while its bytes arrive in parts, in time linear in the bytes: the value is
     * complete when its brackets close outside strings. Anything that does not start like a JSON array or
     * object is complete at once, for the parser to refuse.
     */
    static final class JsonEnd {
        private int depth;
        private boolean inString, escaped, started;

        /** Feeds the next bytes; true once the value is complete. */
        boolean feed(byte[] bytes) {
            for (byte b : bytes) {
                if (inString) {
                    if (escaped) {
                        escaped = false;
                    } else if (b == '\\') {
                        escaped = true;
                    } else if (b == '"') {
                        inString = false;
                    }
                    continue;
                }
                if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
                    continue;
                }
                switch (b) {
                    case '"' -> inString = true;
                    case '[', '{' -> depth++;
                    case ']', '}' -> depth--;
                    default -> {
                        if (!started) {
                            return true;
                        }
                    }
                }
                started = true;
                if (depth <= 0) {
                    return true;
                }
            }
            return false;
        }
    }

    private static void closeConnection(UnixSocket connection, PidFd peer) {
        try {
            connection.close();
        } catch (LinuxException ignored) {
            // nothing more to do with it
        }
        if (peer != null) {
            peer.close();
        }
    }

    /** Stops accepting and drops every connection still waiting for its handshake. */
    @Override
    public void close() {
        try {
            stop.signal();
            thread.join();
        } catch (LinuxException e) {
            thread.interrupt();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                stop.close();
            } catch (LinuxException ignored) {
                // closing
            }
        }
    }
}
