package dev.sabre.e2e;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonParseException;
import dev.sabre.handler.Strategy;
import dev.sabre.handler.cli.HandlerMain;
import dev.sabre.linux.UnixSocket;
import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.DriverSupport;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The page-fault handler running as its own process, as in production: {@link HandlerMain}, the same
 * command as {@code sabre handler}, with the same options. It listens on a
 * socket in its own work directory before any VMM starts, prints one JSON report per finished VMM session
 * (read here as {@link SessionStats}), and is supervised: if it dies while a VMM depends on it, the
 * {@link #onDeath} action runs at once, because that VMM's vCPUs would otherwise sleep in the kernel forever.
 * {@link #close} stops it with SIGTERM (SIGKILL if it does not exit) and removes its sockets and log; a
 * JVM that exits abruptly (Ctrl-C) kills it and removes them too ({@link ChildProcess}).
 */
public final class HandlerProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    /** The handler's host cache is {@code $SABRE_CACHE/store} (HostCache.defaultDir). */
    private static final String HOST_CACHE_ROOT = "SABRE_CACHE";
    /** SIGTERM lets the handler end its sessions and write pending working sets before SIGKILL. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);

    /**
     * What the handler reported about one VMM session; {@code restoreMicros} is the wall time of its prefetch or
     * eager restore (-1 when none ran).
     */
    public record SessionStats(String outcome, long faults, long bytesRead, long bytesInstalled, long restoreMicros) {
    }

    private final Strategy strategy;
    private final Path workDir;
    private final Path socket;
    private final Path control;
    private final ChildProcess child;
    private final Process process;
    private final BlockingQueue<SessionStats> sessions = new LinkedBlockingQueue<>();
    private volatile Runnable onDeath;
    private volatile boolean closing;

    private HandlerProcess(Strategy strategy, Path workDir, Path socket, Path control, ChildProcess child) {
        this.strategy = strategy;
        this.workDir = workDir;
        this.socket = socket;
        this.control = control;
        this.child = child;
        this.process = child.process();
        Thread.ofPlatform().daemon().name("sabre-handler-reports").start(this::readReports);
        process.onExit().thenRun(() -> {
            Runnable action = onDeath;
            if (!closing && action != null) {
                action.run();
            }
        });
    }

    /**
     * Where a handler restores from when its snapshot is in a store: the S3 endpoint (null: the SDK's own
     * configuration, or a directory store), the variables its SDK client needs (credentials, region: passed in
     * the environment, never on the command line), and the cache root the handler runs with ($SABRE_CACHE: its host
     * cache is ROOT/store; null: the default).
     */
    /** How a handler reaches a store: endpoint, environment, host cache root, and the VM's disk image (or null). */
    public record StoreAccess(URI endpoint, Map<String, String> environment, Path cacheRoot, Path disk) {
        public StoreAccess {
            environment = Map.copyOf(environment);
        }

        @Override
        public String toString() {
            return "StoreAccess[endpoint=" + endpoint + ", cache root=" + cacheRoot + ", disk=" + disk + "]"; // the environment holds secrets
        }
    }

    /**
     * Starts a handler serving {@code memory} (raw memory file or .sabre) with {@code strategy} and waits until
     * it listens.
     *
     * @param workingSet  the working set to replay (reap, reap-compressed) or to write (reap-record; null: a
     *                    scratch file removed on close), or null
     * @param withControl also open a control socket (RECORD / STOP_RECORD)
     * @param directIo    read prefetches and eager restores with O_DIRECT (cold storage)
     * @param threads     restore threads of prefetches and eager restores (0: the handler's default)
     */
    public static HandlerProcess start(Path memory, Strategy strategy, Path workingSet, boolean withControl,
                                       boolean directIo, int threads) {
        return start(memory.toAbsolutePath().toString(), strategy, workingSet, withControl, directIo, threads, null);
    }

    /**
     * Starts a handler serving {@code snapshot} (a file, or {@code STORE/NAME} with {@code store} saying how to
     * reach it) with {@code strategy}; as {@link #start(Path, Strategy, Path, boolean, boolean, int)} otherwise.
     */
    public static HandlerProcess start(String snapshot, Strategy strategy, Path workingSet, boolean withControl,
                                       boolean directIo, int threads, StoreAccess store) {
        Path work = WorkDir.create("sabre-handler");
        Path socket = work.resolve("uffd.sock");
        Path control = withControl ? work.resolve("control.sock") : null;
        if (workingSet == null && strategy == Strategy.REAP_RECORD) {
            workingSet = work.resolve("ws.sabre"); // recorded and discarded with the work directory
        }
        List<String> cmd = new ArrayList<>(launcher());
        cmd.addAll(List.of("--socket", socket.toString(), "--snapshot", snapshot, "--strategy", strategy.label(), "--json"));
        if (store != null && store.endpoint() != null) {
            cmd.addAll(List.of("--endpoint", store.endpoint().toString()));
        }
        if (store != null && store.disk() != null) {
            cmd.addAll(List.of("--disk", store.disk().toAbsolutePath().toString()));
        }
        if (workingSet != null) {
            cmd.addAll(List.of("--ws", workingSet.toAbsolutePath().toString()));
        }
        if (control != null) {
            cmd.addAll(List.of("--control", control.toString()));
        }
        if (directIo) {
            cmd.add("--direct-io");
        }
        if (threads > 0) {
            cmd.addAll(List.of("--threads", Integer.toString(threads)));
        }
        ChildProcess process;
        try {
            Files.writeString(work.resolve("command"), String.join(" ", cmd) + "\n");
            ProcessBuilder builder = new ProcessBuilder(cmd).redirectError(work.resolve("handler.log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            if (store != null) {
                builder.environment().putAll(store.environment());
                if (store.cacheRoot() != null) {
                    builder.environment().put(HOST_CACHE_ROOT, store.cacheRoot().toString());
                }
            }
            process = ChildProcess.start(builder, () -> WorkDir.deleteTree(work));
        } catch (IOException e) {
            WorkDir.deleteTree(work);
            throw new VmmException("cannot start the page-fault handler: " + e.getMessage(), e);
        }
        HandlerProcess handler = new HandlerProcess(strategy, work, socket, control, process);
        handler.awaitListening();
        return handler;
    }

    /** The JVM command that runs the handler: {@code sabre handler}'s command, on this JVM's class path. */
    static List<String> launcher() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:+UseSerialGC", "-Xmx1g", "-cp", System.getProperty("java.class.path"), HandlerMain.class.getName());
    }

    private void awaitListening() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!(listening(socket) && (control == null || listening(control)))) {
            if (!process.isAlive()) {
                String why = lastLogLine();
                close();
                throw new VmmException("the page-fault handler (" + strategy + ") did not start: " + why);
            }
            if (System.nanoTime() > deadline) {
                close();
                throw new VmmException("the page-fault handler (" + strategy + ") did not listen within "
                        + START_TIMEOUT.toSeconds() + " s");
            }
            DriverSupport.sleep(10);
        }
    }

    /**
     * Whether a socket listens at {@code path}: its file appears at bind(), a moment before listen(), and a VMM
     * connecting in between is refused; so this looks for the listening state ({@code __SO_ACCEPTCON}, flag
     * 0x10000) in /proc/net/unix rather than connecting, which the handler would count as a VMM.
     */
    static boolean listening(Path path) {
        if (!Files.exists(path)) {
            return false;
        }
        String suffix = " " + path;
        try (var lines = Files.lines(Path.of("/proc/net/unix"))) {
            return lines.filter(l -> l.endsWith(suffix)).map(l -> l.trim().split("\\s+"))
                    .anyMatch(f -> f.length >= 8 && (Long.parseLong(f[3], 16) & 0x10000) != 0);
        } catch (IOException | RuntimeException e) {
            return true; // no /proc here: the file's existence is all there is to go on
        }
    }

    public Strategy strategy() {
        return strategy;
    }

    /** The socket VMMs connect to. */
    public Path socket() {
        return socket;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Runs {@code action} (once, on another thread) if the handler dies before {@link #close}; null clears it. */
    public void onDeath(Runnable action) {
        this.onDeath = action;
        if (action != null && !process.isAlive() && !closing) {
            action.run();
        }
    }

    /** Fails with a clear message when the handler is no longer running. */
    public void requireAlive() {
        if (!process.isAlive()) {
            throw new VmmException(describeDeath());
        }
    }

    /** The handler in a message: {@code the page-fault handler (STRATEGY, pid N)}. */
    public String describe() {
        return "the page-fault handler (" + strategy + ", pid " + process.pid() + ")";
    }

    /** One line: how the handler ended and its last log line. */
    public String describeDeath() {
        String status = process.isAlive() ? "running" : "exit status " + process.exitValue();
        return describe() + " died (" + status + ")" + (lastLogLine().isEmpty() ? "" : ": " + lastLogLine());
    }

    /** Sends STOP_RECORD and returns the working-set file the handler wrote. */
    public Path stopRecording() {
        String reply = controlCommand("STOP_RECORD");
        if (!reply.startsWith("OK /")) {
            throw new VmmException("the handler recorded no working set: " + reply);
        }
        return Path.of(reply.substring(3).strip().split(" ")[0]);
    }

    private String controlCommand(String command) {
        if (control == null) {
            throw new IllegalStateException("the handler has no control socket");
        }
        requireAlive();
        try (UnixSocket s = UnixSocket.connect(control)) {
            s.send((command + "\n").getBytes(StandardCharsets.UTF_8));
            StringBuilder reply = new StringBuilder();
            while (reply.indexOf("\n") < 0) {
                var message = s.receive(1 << 16, 0);
                if (message.isEndOfStream()) {
                    break;
                }
                reply.append(new String(message.payload(), StandardCharsets.UTF_8));
            }
            String line = reply.toString().strip();
            if (line.startsWith("ERR")) {
                throw new VmmException("handler control command " + command + " failed: " + line.substring(3).strip());
            }
            return line;
        } catch (IOException e) {
            throw new VmmException("handler control socket " + control + ": " + e.getMessage(), e);
        }
    }

    /** The report of the next VMM session to end, or null if none ends within {@code timeout}. */
    public SessionStats nextSession(Duration timeout) {
        try {
            return sessions.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Drops reports not yet taken (of sessions that ended late), so the next {@link #nextSession} is a new one. */
    public void discardReports() {
        sessions.clear();
    }

    private void readReports() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                try {
                    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                    long restore = o.get("restore").isJsonObject()
                            ? o.getAsJsonObject("restore").get("total_us").getAsLong() : -1;
                    sessions.add(new SessionStats(o.get("outcome").getAsString(), o.get("faults").getAsLong(),
                            o.get("bytes_read").getAsLong(), o.get("bytes_installed").getAsLong(), restore));
                } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
                    // not a session report: ignore
                }
            }
        } catch (IOException e) {
            // the handler exited
        }
    }

    private String lastLogLine() {
        List<String> lines = WorkDir.tail(workDir.resolve("handler.log"), 5).strip().lines().toList();
        return lines.isEmpty() ? "" : lines.getLast();
    }

    /** SIGTERM (the handler ends its sessions and writes pending working sets), SIGKILL after 10 s; removes the work directory. */
    @Override
    public void close() {
        closing = true;
        try {
            child.stop(STOP_GRACE);
        } finally {
            WorkDir.release(workDir);
            child.release();
        }
    }

    @Override
    public String toString() {
        return "page-fault handler " + strategy + " (pid " + process.pid() + ")";
    }
}
