package dev.sabre.store;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault-injecting HTTP forwarder in front of a real S3 server, for tests. Each request is forwarded byte
 * for byte (so the SDK's request signatures stay valid) unless the test's {@link Rule} answers it, as S3
 * does when throttling, with {@code 503 SlowDown} and S3's XML error body; each forwarded request can be
 * delayed, as a slow store is. It counts the requests it saw per method, path and range. It listens on
 * 127.0.0.1 only, handles one request at a time per connection (the SDK does not pipeline), and closes
 * every socket it opened when closed.
 */
public final class FaultInjectingProxy implements AutoCloseable {
    /** One request as the proxy saw it; {@code range} is the Range header, or empty. */
    public record Request(String method, String path, String range) {
        /** The object and byte range: what a retry asks for again. */
        public String target() {
            return method + " " + path + (range.isEmpty() ? "" : " " + range);
        }
    }

    /** Decides whether to answer request {@code request}, the {@code attempt}-th one for its target, with SlowDown. */
    public interface Rule {
        boolean slowDown(Request request, int attempt);
    }

    private static final int MAX_HEAD_BYTES = 64 << 10;

    private final ServerSocket server;
    private final URI upstream;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong slowDowns = new AtomicLong();
    private volatile Rule rule = (request, attempt) -> false;
    private volatile Rule cut = (request, attempt) -> false;
    private volatile long cutAfterBytes;
    private volatile long delayMillis;
    private volatile boolean closed;

    private FaultInjectingProxy(ServerSocket server, URI upstream) {
        this.server = server;
        this.upstream = upstream;
    }

    /** Starts forwarding to {@code upstream} (http://127.0.0.1:PORT) on a free loopback port. */
    public static FaultInjectingProxy start(URI upstream) throws IOException {
        ServerSocket server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        FaultInjectingProxy proxy = new FaultInjectingProxy(server, upstream);
        Thread.ofPlatform().daemon().name("fault-proxy-accept").start(proxy::accept);
        return proxy;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Sets which requests are answered with 503 SlowDown from now on (and resets nothing else). */
    public void rule(Rule rule) {
        this.rule = rule;
    }

    /**
     * From now on, the server's answer to each request {@code rule} picks is cut off: the connection is closed
     * after its first {@code afterBytes} bytes (status line and headers included), as a network failing mid-transfer.
     */
    public void cut(Rule rule, long afterBytes) {
        this.cutAfterBytes = afterBytes;
        this.cut = rule;
    }

    /** Delays every forwarded request by {@code millis} before it reaches the server. */
    public void delay(long millis) {
        this.delayMillis = millis;
    }

    /** Requests seen, answered or forwarded. */
    public long requests() {
        return requests.get();
    }

    /** Requests answered with 503 SlowDown. */
    public long slowDowns() {
        return slowDowns.get();
    }

    /** How often each target (method, path, range) was requested. */
    public Map<String, Integer> attempts() {
        Map<String, Integer> copy = new java.util.TreeMap<>();
        attempts.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    /** Forgets the counts. */
    public void resetCounts() {
        attempts.clear();
        requests.set(0);
        slowDowns.set(0);
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                sockets.add(client);
                Thread.ofPlatform().daemon().name("fault-proxy-conn").start(() -> serve(client));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket client) {
        Socket up = null;
        AtomicLong budget = new AtomicLong(Long.MAX_VALUE); // response bytes this connection may still pass on
        try (client) {
            InputStream in = new BufferedInputStream(client.getInputStream());
            OutputStream out = client.getOutputStream();
            while (true) {
                byte[] head = readHead(in);
                if (head == null) {
                    return;
                }
                String text = new String(head, StandardCharsets.ISO_8859_1);
                String[] requestLine = text.substring(0, text.indexOf("\r\n")).split(" ");
                String path = requestLine[1];
                int query = path.indexOf('?');
                Request request = new Request(requestLine[0], query < 0 ? path : path.substring(0, query), header(text, "range"));
                requests.incrementAndGet();
                int attempt = attempts.computeIfAbsent(request.target(), k -> new AtomicInteger()).incrementAndGet();
                if (header(text, "transfer-encoding").toLowerCase(Locale.ROOT).contains("chunked")) {
                    throw new IOException("chunked request bodies are not supported by this test proxy");
                }
                if (rule.slowDown(request, attempt)) {
                    slowDowns.incrementAndGet();
                    out.write(slowDown(request.path()));
                    out.flush();
                    return; // Connection: close, so a request body never needs reading
                }
                if (delayMillis > 0) {
                    Thread.sleep(delayMillis);
                }
                budget.set(cut.slowDown(request, attempt) ? cutAfterBytes : Long.MAX_VALUE);
                if (up == null) {
                    up = new Socket(upstream.getHost(), upstream.getPort());
                    sockets.add(up);
                    Socket from = up;
                    Thread.ofPlatform().daemon().name("fault-proxy-pump").start(() -> pump(from, client, budget));
                }
                OutputStream toServer = up.getOutputStream();
                toServer.write(head);
                String length = header(text, "content-length");
                copy(in, toServer, length.isEmpty() ? 0 : Long.parseLong(length));
                toServer.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the client or the server went away; the SDK sees a dropped connection
        } finally {
            closeQuietly(up);
        }
    }

    /** Copies exactly {@code n} bytes (a request body). */
    private static void copy(InputStream in, OutputStream out, long n) throws IOException {
        byte[] buffer = new byte[64 << 10];
        while (n > 0) {
            int read = in.read(buffer, 0, (int) Math.min(buffer.length, n));
            if (read < 0) {
                throw new java.io.EOFException("request body ended early");
            }
            out.write(buffer, 0, read);
            n -= read;
        }
    }

    /** Copies the server's responses to the client until either side closes, or {@code budget} runs out. */
    private static void pump(Socket from, Socket to, AtomicLong budget) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buffer = new byte[16 << 10];
            int read;
            while ((read = in.read(buffer)) >= 0) {
                long allowed = budget.get();
                int n = (int) Math.min(read, allowed);
                out.write(buffer, 0, n);
                out.flush();
                if (allowed != Long.MAX_VALUE) {
                    budget.addAndGet(-n);
                }
                if (n < read || budget.get() == 0) {
                    return; // cut off: the finally closes the client's connection mid-answer
                }
            }
        } catch (IOException e) {
            // one side closed
        } finally {
            closeQuietly(to);
        }
    }

    /** S3's answer to a client sending too fast. */
    private static byte[] slowDown(String resource) {
        String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                + "<Message>Please reduce your request rate.</Message><Resource>" + resource
                + "</Resource><RequestId>fault-proxy</RequestId></Error>";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: " + bytes.length
                + "\r\nx-amz-request-id: fault-proxy\r\nConnection: close\r\n\r\n";
        ByteArrayOutputStream response = new ByteArrayOutputStream();
        response.writeBytes(head.getBytes(StandardCharsets.ISO_8859_1));
        response.writeBytes(bytes);
        return response.toByteArray();
    }

    /** The request head up to and including the blank line, or null at end of stream before a request. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
            if (matched == 4) {
                return head.toByteArray();
            }
            if (head.size() > MAX_HEAD_BYTES) {
                throw new IOException("request head over " + MAX_HEAD_BYTES + " bytes");
            }
        }
        return null;
    }

    /** A header's value ({@code name} lower case), or empty. */
    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals(name)) {
                return line.substring(colon + 1).strip();
            }
        }
        return "";
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        sockets.forEach(FaultInjectingProxy::closeQuietly);
    }
}
