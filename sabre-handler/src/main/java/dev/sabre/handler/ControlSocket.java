package dev.sabre.handler;

import dev.sabre.linux.EventFd;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UnixSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The control socket, like the original REAP implementation's: a client connects, sends command lines and
 * reads one reply line per command. {@code RECORD} starts recording working sets afresh, {@code STOP_RECORD}
 * stops and writes them ({@code OK path...}), {@code STATS} lists the active and finished sessions.
 * Unknown commands get {@code ERR ...}. One client at a time; a client that sends nothing for 5 s is dropped.
 */
final class ControlSocket implements AutoCloseable {
    private static final long CLIENT_TIMEOUT_MS = 5000;

    private final Path path;
    private final UnixSocket listener;
    private final EventFd stop;
    private final PageFaultHandler handler;
    private final Thread thread;

    private ControlSocket(Path path, UnixSocket listener, EventFd stop, PageFaultHandler handler) {
        this.path = path;
        this.listener = listener;
        this.stop = stop;
        this.handler = handler;
        this.thread = Thread.ofPlatform().daemon().name("sabre-handler-control").start(this::loop);
    }

    static ControlSocket start(Path path, PageFaultHandler handler) throws IOException {
        UnixSocket listener = PageFaultHandler.bind(path);
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
                case "STATS" -> "OK " + handler.activeSessions() + " active, finished: "
                        + String.join(" | ", handler.reports().stream().map(SessionReport::toLine).toList());
                default -> "ERR unknown command '" + command.trim() + "' (expected RECORD, STOP_RECORD or STATS)";
            };
        } catch (IOException | RuntimeException e) {
            return "ERR " + e.getMessage();
        }
    }

    private void loop() {
        try (PollSet poll = new PollSet(2)) {
            int listening = poll.add(listener.fd(), PollSet.POLLIN);
            int stopping = poll.add(stop.fd(), PollSet.POLLIN);
            while (true) {
                poll.poll(-1);
                if (poll.ready(stopping)) {
                    return;
                }
                if (poll.ready(listening)) {
                    try (UnixSocket client = listener.accept()) {
                        serve(client);
                    } catch (LinuxException e) {
                        handler.config().log().println("sabre handler: control client: " + e.getMessage());
                    }
                }
            }
        } catch (LinuxException e) {
            handler.config().log().println("sabre handler: control socket failed: " + e.getMessage());
        }
    }

    private void serve(UnixSocket client) throws LinuxException {
        StringBuilder buffered = new StringBuilder();
        try (PollSet poll = new PollSet(1)) {
            poll.add(client.fd(), PollSet.POLLIN);
            while (poll.poll(CLIENT_TIMEOUT_MS) > 0) {
                ReceivedMessage message = client.receive(4096, 0);
                if (message.isEndOfStream()) {
                    return;
                }
                buffered.append(new String(message.payload(), StandardCharsets.UTF_8));
                int newline;
                while ((newline = buffered.indexOf("\n")) >= 0) {
                    String line = buffered.substring(0, newline);
                    buffered.delete(0, newline + 1);
                    if (!line.isBlank()) {
                        client.send((execute(line) + "\n").getBytes(StandardCharsets.UTF_8));
                    }
                }
                if (buffered.length() > 4096) {
                    client.send("ERR command line too long\n".getBytes(StandardCharsets.UTF_8));
                    return;
                }
            }
        }
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
