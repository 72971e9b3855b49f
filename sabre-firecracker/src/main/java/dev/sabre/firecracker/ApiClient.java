package dev.sabre.firecracker;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.sabre.vmm.VmmException;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Firecracker's REST API over its Unix domain socket: HTTP/1.1 with JSON bodies, spoken by Jetty's
 * client (the JDK's HttpClient cannot use Unix sockets). A 2xx answer returns its body; anything else
 * becomes a {@link FirecrackerException} carrying Firecracker's {@code fault_message}.
 */
public final class ApiClient implements AutoCloseable {
    private static final Gson GSON = new Gson();

    private final Path socket;
    private final Duration timeout;
    private final HttpClient http;

    /** A client for the API socket {@code socket}; every request is bounded by {@code timeout}. */
    public ApiClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
        this.http = new HttpClient();
        http.setName("firecracker-api");
        // Daemon threads: a VM that is never closed must not keep the JVM alive.
        QueuedThreadPool pool = new QueuedThreadPool(8, 1);
        pool.setName("firecracker-api");
        pool.setDaemon(true);
        http.setExecutor(pool);
        http.setScheduler(new ScheduledExecutorScheduler("firecracker-api-scheduler", true));
        http.setConnectTimeout(timeout.toMillis());
        // Firecracker's micro_http wants nothing beyond what a request strictly needs.
        http.setUserAgentField(null);
        try {
            http.start();
        } catch (Exception e) {
            throw new VmmException("cannot start the HTTP client for " + socket + ": " + e.getMessage(), e);
        }
    }

    public Path socket() {
        return socket;
    }

    public JsonElement get(String path) {
        return send(HttpMethod.GET, path, null);
    }

    public void put(String path, JsonObject body) {
        send(HttpMethod.PUT, path, body);
    }

    public void patch(String path, JsonObject body) {
        send(HttpMethod.PATCH, path, body);
    }

    /** Sends one request; returns the parsed JSON body of a 2xx answer (null when empty). */
    public JsonElement send(HttpMethod method, String path, JsonObject body) {
        Request request = http.newRequest("http://localhost" + path)
                .transport(new Transport.TCPUnix(socket))
                .method(method)
                .timeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .headers(h -> h.put("Accept", "application/json"));
        if (body != null) {
            request.body(new StringRequestContent("application/json", GSON.toJson(body), StandardCharsets.UTF_8));
        }
        ContentResponse response;
        try {
            response = request.send();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted during " + method + " " + path + " on " + socket, e);
        } catch (TimeoutException e) {
            throw new VmmException("Firecracker did not answer " + method + " " + path + " on " + socket + " within "
                    + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof java.io.EOFException || cause instanceof java.nio.channels.ClosedChannelException) {
                throw new VmmException("Firecracker closed its API socket " + socket + " without answering " + method + " "
                        + path + " (did it exit?)", cause);
            }
            throw new VmmException("cannot send " + method + " " + path + " to Firecracker's API socket " + socket + ": "
                    + shorten(String.valueOf(cause.getMessage())), cause);
        }
        String text = response.getContentAsString();
        int status = response.getStatus();
        if (status / 100 != 2) {
            throw new FirecrackerException(method.asString(), path, status, faultMessage(text));
        }
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return GSON.fromJson(text, JsonElement.class);
        } catch (JsonParseException e) {
            throw new VmmException(method + " " + path + ": Firecracker answered with malformed JSON: " + shorten(text), e);
        }
    }

    /** Firecracker's error body is {@code {"fault_message": "..."}}; fall back to the raw text. */
    static String faultMessage(String body) {
        if (body == null || body.isBlank()) {
            return "(no error body)";
        }
        try {
            JsonElement e = GSON.fromJson(body, JsonElement.class);
            if (e != null && e.isJsonObject() && e.getAsJsonObject().has("fault_message")) {
                return e.getAsJsonObject().get("fault_message").getAsString();
            }
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException ignored) {
            // not JSON: report it as it is
        }
        return shorten(body);
    }

    private static String shorten(String s) {
        String line = s.strip().replace('\n', ' ');
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }

    @Override
    public void close() {
        try {
            http.stop();
        } catch (Exception ignored) {
            // closing anyway
        }
    }
}
