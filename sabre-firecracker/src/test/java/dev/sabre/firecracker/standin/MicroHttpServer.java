package dev.sabre.firecracker.standin;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A small HTTP/1.1 server on a Unix domain socket, shaped like Firecracker's micro_http: one request
 * at a time per connection, keep-alive, bodies sized by Content-Length only (no chunked encoding,
 * which Firecracker refuses too), bounded header and body sizes.
 */
final class MicroHttpServer implements AutoCloseable {
    static final int MAX_BODY = 51200; // Firecracker's default --http-api-max-payload-size

    /** What a request gets back. */
    record Response(int status, String json) {
        static Response noContent() {
            return new Response(204, null);
        }

        static Response ok(String json) {
            return new Response(200, json);
        }

        static Response fault(int status, String message) {
            com.google.gson.JsonObject o = new com.google.gson.JsonObject();
            o.addProperty("fault_message", message);
            return new Response(status, o.toString());
        }
    }

    interface Handler {
        Response handle(String method, String path, String body);
    }

    private final ServerSocketChannel server;
    private final Handler handler;
    private final Thread acceptor;
    private volatile boolean closed;

    MicroHttpServer(Path socket, Handler handler) throws IOException {
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        this.handler = handler;
        this.acceptor = Thread.ofPlatform().name("api-accept").start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel c = server.accept();
                Thread.ofPlatform().daemon().name("api-conn").start(() -> serve(c));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Firecracker serves its API from one thread: requests are handled one at a time across connections. */
    private void serve(SocketChannel channel) {
        try (channel; InputStream in = Channels.newInputStream(channel); OutputStream out = Channels.newOutputStream(channel)) {
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String[] lines = head.split("\r\n");
                String[] requestLine = lines[0].split(" ");
                if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
                    write(out, Response.fault(400, "Invalid HTTP request line: " + lines[0]));
                    return;
                }
                int length = 0;
                for (int i = 1; i < lines.length; i++) {
                    int colon = lines[i].indexOf(':');
                    if (colon < 0) {
                        continue;
                    }
                    String name = lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT);
                    String value = lines[i].substring(colon + 1).strip();
                    if (name.equals("content-length")) {
                        length = Integer.parseInt(value);
                    } else if (name.equals("transfer-encoding")) {
                        write(out, Response.fault(400, "Unsupported transfer encoding: " + value));
                        return;
                    }
                }
                if (length > MAX_BODY) {
                    write(out, Response.fault(400, "Request payload with size " + length + " is larger than the limit of "
                            + MAX_BODY + " allowed by server."));
                    return;
                }
                String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
                Response r;
                synchronized (this) {
                    try {
                        r = handler.handle(requestLine[0], requestLine[1], body);
                    } catch (RuntimeException e) {
                        r = Response.fault(500, "internal error: " + e);
                    }
                }
                write(out, r);
            }
        } catch (IOException | NumberFormatException e) {
            // the client went away or sent garbage
        }
    }

    /** Reads up to the blank line; null at a clean end of stream. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int c = in.read();
            if (c < 0) {
                if (b.size() == 0) {
                    return null;
                }
                throw new IOException("connection closed inside a request head");
            }
            b.write(c);
            if (b.size() > 8192) {
                throw new IOException("request head too long");
            }
            matched = (c == "\r\n\r\n".charAt(matched)) ? matched + 1 : (c == '\r' ? 1 : 0);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    private static void write(OutputStream out, Response r) throws IOException {
        byte[] body = r.json() == null ? new byte[0] : r.json().getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder("HTTP/1.1 ").append(r.status()).append(' ').append(reason(r.status())).append("\r\n")
                .append("Server: Firecracker API\r\nConnection: keep-alive\r\n");
        if (body.length > 0) {
            h.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        } else if (r.status() != 204) {
            h.append("Content-Length: 0\r\n");
        }
        h.append("\r\n");
        out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            default -> "Internal Server Error";
        };
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
