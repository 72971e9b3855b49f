package dev.sabre.handler;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A handler started for one test, its log captured, with a way to wait for its sessions' reports. */
final class RunningHandler implements AutoCloseable {
    final PageFaultHandler handler;
    final Path socket;
    private final ByteArrayOutputStream logBytes;
    private final BlockingQueue<SessionReport> ended = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> dropped = new LinkedBlockingQueue<>();

    private RunningHandler(PageFaultHandler handler, Path socket, ByteArrayOutputStream logBytes) {
        this.handler = handler;
        this.socket = socket;
        this.logBytes = logBytes;
        handler.onSessionEnd(ended::add);
        handler.onConnectionDropped(dropped::add);
    }

    static RunningHandler start(HandlerConfig config) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream tee = new PrintStream(new java.io.OutputStream() {
            @Override
            public synchronized void write(int b) {
                bytes.write(b);
                System.err.write(b);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
                System.err.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8);
        return new RunningHandler(PageFaultHandler.start(config.withLog(tee)), config.socket(), bytes);
    }

    /** The next session report, waiting for a session to end. */
    SessionReport nextReport() throws InterruptedException {
        SessionReport r = ended.poll(120, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no session ended within 120 s; log:\n" + log());
        }
        return r;
    }

    /** Why the next connection was dropped before it became a session, waiting for one. */
    String nextDrop() throws InterruptedException {
        String r = dropped.poll(120, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no connection dropped within 120 s; log:\n" + log());
        }
        return r;
    }

    String log() {
        synchronized (logBytes) {
            return logBytes.toString(StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() throws IOException {
        handler.close();
    }
}
