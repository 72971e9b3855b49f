package dev.sabre.handler;

import dev.sabre.linux.Errno;
import dev.sabre.linux.EventFd;
import dev.sabre.linux.Fds;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UnixSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The control socket, like the original REAP implementation's: a client connects, sends command lines and
 * reads one reply line per command. {@code RECORD} starts recording working sets afresh, {@code STOP_RECORD}
 * stops and writes them ({@code OK path...}), {@code STATS} sums up the active and finished sessions.
 * Unknown commands get {@code ERR ...}.
 *
 * <p>Clients are served side by side by one event loop on non-blocking sockets, so a slow or stuck client
 * delays nobody: at most {@link #MAX_CLIENTS} at once (one more is told {@code ERR busy}), each must finish
 * a command line within {@link #LINE_TIMEOUT_MS} of its first byte and is dropped after that long idle, and
 * one that does not read its replies is dropped once {@link #MAX_UNREAD} bytes wait for it.
 */
final class ControlSocket implements AutoCloseable {
    static final int MAX_CLIENTS = 64;
    static final long LINE_TIMEOUT_MS = 5000;
    private static final int MAX_LINE = 4096;
    private static final int MAX_UNREAD = 256 * 1024;

    private final class Client {
        final UnixSocket socket;
        final ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] unsent = new byte[0];
        int sentOfUnsent;
        long deadline = System.nanoTime() + LINE_TIMEOUT_MS * 1_000_000L;
        boolean closing;

        Client(UnixSocket socket) {
            this.socket = socket;
        }

        void reply(String text) {
            byte[] bytes = (text + "\n").getBytes(StandardCharsets.UTF_8);
            byte[] joined = new byte[unsent.length - sentOfUnsent + bytes.length];
            System.arraycopy(unsent, sentOfUnsent, joined, 0, unsent.length - sentOfUnsent);
            System.arraycopy(bytes, 0, joined, unsent.length - sentOfUnsent, bytes.length);
            unsent = joined;
            sentOfUnsent = 0;
        }

        boolean hasUnsent() {
            return sentOfUnsent < unsent.length;
        }
    }

    private final Path path;
    private final UnixSocket listener;
    private final EventFd stop;
    private final PageFaultHandler handler;
    private final LogLimiter limiter;
    private final List<Client> clients = new ArrayList<>();
    private final Thread thread;

    private ControlSocket(Path path, UnixSocket listener, EventFd stop, PageFaultHandler handler) {
        this.path = path;
        this.listener = listener;
        this.stop = stop;
        this.handler = handler;
        this.limiter = new LogLimiter(handler.config().log());
        this.thread = Thread.ofPlatform().daemon().name("sabre-handler-control").start(this::loop);
    }

    static ControlSocket start(Path path, PageFaultHandler handler) throws IOException {
        UnixSocket listener = PageFaultHandler.bind(path);
        Fds.setNonBlocking(listener.fd(), true);
        return new ControlSocket(path, listener, EventFd.create(true), handler);
    }

    /** Answers one command line. */
    String execute(String command) {
        try {
            return switch (command.trim()) {
                case "RECORD" -> "OK recording " + handler.startRecording() + " VMM(s)";
                case "STOP_RECORD" -> {
                    List<Path> written = handler.stopRecording();
                    yield written.isEmpty() ? "OK nothing recorded" : "OK " + String.join(" ",
                            written.stream().map(Path::toString).toList());
                }
                case "STATS" -> {
                    List<SessionReport> last = handler.reports();
                    yield "OK " + handler.activeSessions() + " active, " + handler.pendingConnections()
                            + " awaiting handshake, " + handler.finishedSessions() + " finished"
                            + (last.isEmpty() ? "" : "; last " + last.size() + ": "
                            + String.join(" | ", last.stream().map(SessionReport::toLine).toList()));
                }
                default -> "ERR unknown command '" + printable(command.trim())
                        + "' (expected RECORD, STOP_RECORD or STATS)";
            };
        } catch (IOException | RuntimeException e) {
            return "ERR " + e.getMessage();
        }
    }

    private void loop() {
        try (PollSet poll = new PollSet(MAX_CLIENTS + 2)) {
            List<Client> polled = new ArrayList<>();
            while (true) {
                poll.clear();
                poll.add(stop.fd(), PollSet.POLLIN);
                poll.add(listener.fd(), PollSet.POLLIN);
                polled.clear();
                polled.addAll(clients);
                long now = System.nanoTime();
                long wait = Long.MAX_VALUE;
                for (Client c : polled) {
                    poll.add(c.socket.fd(), PollSet.POLLIN | (c.hasUnsent() ? PollSet.POLLOUT : 0));
                    wait = Math.min(wait, Math.max(0, (c.deadline - now) / 1_000_000L) + 1);
                }
                long due = limiter.millisUntilDue();
                poll.poll(due >= 0 ? Math.min(wait, due) : wait == Long.MAX_VALUE ? -1 : wait);
                if (poll.ready(0)) {
                    return;
                }
                for (int i = 0; i < polled.size(); i++) {
                    Client c = polled.get(i);
                    int events = poll.revents(i + 2);
                    if ((events & PollSet.POLLOUT) != 0) {
                        flush(c);
                    }
                    if ((events & ~PollSet.POLLOUT) != 0 && !c.closing) {
                        read(c);
                    }
                }
                if (poll.ready(1)) {
                    acceptAll();
                }
                now = System.nanoTime();
                for (Client c : List.copyOf(clients)) {
                    if (c.closing && !c.hasUnsent() || now > c.deadline) {
                        drop(c);
                    }
                }
                limiter.flushIfDue();
            }
        } catch (LinuxException e) {
            handler.config().log().println("sabre handler: control socket failed: " + e.getMessage());
        } finally {
            List.copyOf(clients).forEach(this::drop);
        }
    }

    private void acceptAll() {
        while (true) {
            UnixSocket socket;
            try {
                socket = listener.accept(true);
            } catch (LinuxException e) {
                if (e.errno() != Errno.EAGAIN) {
                    limiter.note("control client refused", e.getMessage());
                }
                return;
            }
            if (clients.size() >= MAX_CLIENTS) {
                byte[] busy = ("ERR busy: " + MAX_CLIENTS + " control clients are connected\n").getBytes(StandardCharsets.UTF_8);
                try (socket) {
                    socket.trySend(busy, 0, busy.length);
                } catch (LinuxException e) {
                    // it gets the hang-up instead
                }
                continue;
            }
            clients.add(new Client(socket));
        }
    }

    private void read(Client c) {
        ReceivedMessage message;
        try {
            message = c.socket.receive(MAX_LINE, 0);
        } catch (LinuxException e) {
            if (e.errno() != Errno.EAGAIN) {
                drop(c);
            }
            return;
        }
        if (message.isEndOfStream()) {
            c.closing = true;
            return;
        }
        boolean restart = c.line.size() == 0;
        for (byte b : message.payload()) {
            if (b != '\n') {
                c.line.write(b);
                continue;
            }
            String line = c.line.toString(StandardCharsets.UTF_8);
            c.line.reset();
            restart = true;
            if (!line.isBlank()) {
                c.reply(execute(line));
            }
        }
        if (c.line.size() > MAX_LINE) {
            c.reply("ERR command line too long");
            c.closing = true;
        }
        // A client has LINE_TIMEOUT_MS for each command line, counted from its first byte, and as long idle.
        if (restart) {
            c.deadline = System.nanoTime() + LINE_TIMEOUT_MS * 1_000_000L;
        }
        flush(c);
    }

    private void flush(Client c) {
        try {
            while (c.hasUnsent()) {
                int n = c.socket.trySend(c.unsent, c.sentOfUnsent, c.unsent.length - c.sentOfUnsent);
                if (n == 0) {
                    break;
                }
                c.sentOfUnsent += n;
            }
        } catch (LinuxException e) {
            drop(c);
            return;
        }
        if (c.unsent.length - c.sentOfUnsent > MAX_UNREAD) {
            limiter.note("control client dropped", "it did not read " + (c.unsent.length - c.sentOfUnsent)
                    + " bytes of replies");
            drop(c);
        }
    }

    private void drop(Client c) {
        if (clients.remove(c)) {
            try {
                c.socket.close();
            } catch (LinuxException ignored) {
                // dropping it anyway
            }
        }
    }

    private static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    @Override
    public void close() throws IOException {
        stop.signal();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.close();
        stop.close();
        Files.deleteIfExists(path);
    }
}
