package dev.sabre.vmm.qemu;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.sabre.vmm.VmmException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A minimal client for QEMU's machine protocol (QMP): JSON objects, one per line, over a Unix socket.
 * It negotiates capabilities, sends one command at a time and waits (bounded) for its return, skipping
 * asynchronous events. A reader thread feeds the replies so every wait has a timeout.
 */
final class QmpClient implements AutoCloseable {
    private static final Gson GSON = new Gson();
    private static final JsonObject EOF = new JsonObject();

    private final SocketChannel channel;
    private final BlockingQueue<JsonObject> replies = new LinkedBlockingQueue<>();
    private final Thread reader;
    private final Path socket;
    private volatile String readError;

    private QmpClient(SocketChannel channel, Path socket) {
        this.channel = channel;
        this.socket = socket;
        this.reader = Thread.ofPlatform().daemon().name("qmp-reader").start(this::readLoop);
    }

    /** Connects to the QMP socket and negotiates capabilities. */
    static QmpClient connect(Path socket, Duration timeout) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        QmpClient qmp = new QmpClient(ch, socket);
        try {
            JsonObject greeting = qmp.next(timeout);
            if (!greeting.has("QMP")) {
                throw new VmmException("unexpected QMP greeting on " + socket + ": " + greeting);
            }
            qmp.execute("qmp_capabilities", null, timeout);
            return qmp;
        } catch (RuntimeException e) {
            qmp.close();
            throw e;
        }
    }

    /** Runs a command and returns its {@code return} value; a QMP error becomes a VmmException. */
    JsonElement execute(String command, JsonObject arguments, Duration timeout) {
        JsonObject cmd = new JsonObject();
        cmd.addProperty("execute", command);
        if (arguments != null) {
            cmd.add("arguments", arguments);
        }
        byte[] line = (GSON.toJson(cmd) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        } catch (IOException e) {
            throw new VmmException("QMP " + command + ": cannot write to " + socket + ": " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            JsonObject reply = next(Duration.ofNanos(Math.max(0, left)));
            if (reply.has("event")) {
                continue;
            }
            if (reply.has("error")) {
                JsonObject err = reply.getAsJsonObject("error");
                throw new VmmException("QMP " + command + " failed: "
                        + (err.has("desc") ? err.get("desc").getAsString() : err.toString()));
            }
            if (reply.has("return")) {
                return reply.get("return");
            }
        }
    }

    private JsonObject next(Duration timeout) {
        JsonObject reply;
        try {
            reply = replies.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted while waiting for QMP on " + socket, e);
        }
        if (reply == null) {
            throw new VmmException("no QMP reply within " + timeout.toMillis() + " ms on " + socket);
        }
        if (reply == EOF) {
            replies.offer(EOF);
            throw new VmmException("QMP connection " + socket + " closed (QEMU exited?)"
                    + (readError == null ? "" : ": " + readError));
        }
        return reply;
    }

    private void readLoop() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    replies.offer(GSON.fromJson(line, JsonObject.class));
                } catch (JsonParseException e) {
                    readError = "malformed QMP line: " + line;
                }
            }
        } catch (IOException e) {
            readError = e.getMessage();
        } finally {
            replies.offer(EOF);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            reader.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
