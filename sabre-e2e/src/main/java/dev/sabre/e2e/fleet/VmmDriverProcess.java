package dev.sabre.e2e.fleet;

import dev.sabre.handler.SimulatedVmm;
import dev.sabre.store.StoreTrace;
import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The VMM-side test driver ({@link SimulatedVmm}) in a process of its own, as a real VMM is: a handler that
 * decides it cannot serve a VMM kills the process that connected (Firecracker's contract), and that must be
 * this child, never the benchmark that runs it. The child starts, reads the memory file's path and waits; each
 * {@link #restore} then connects to a handler, touches the given pages in order on one vCPU thread, checks every
 * byte and disconnects, timing the handshake and the touches itself, so neither the JVM start nor the pipe
 * counts. A child killed mid-restore is that restore's failure, in one line.
 */
public final class VmmDriverProcess implements AutoCloseable {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);

    private final ChildProcess child;
    private final Path work;
    private final BufferedReader replies;
    private final Writer commands;
    private int sessions;

    /** A restore as the driver saw it: the handshake until the VM runs, then the touches; every byte matched. */
    public record Restore(long resumeNanos, long touchNanos, long pagesTouched) {
    }

    private VmmDriverProcess(ChildProcess child, Path work) {
        this.child = child;
        this.work = work;
        this.replies = child.process().inputReader(StandardCharsets.UTF_8);
        this.commands = child.process().outputWriter(StandardCharsets.UTF_8);
    }

    /** Starts a driver for guests whose memory is {@code memoryFile} and waits until it is ready. */
    public static VmmDriverProcess start(Path memoryFile) {
        Path work = WorkDir.create("sabre-vmm-driver");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                VmmDriverProcess.class.getName(), memoryFile.toAbsolutePath().toString());
        ChildProcess child;
        try {
            child = ChildProcess.start(new ProcessBuilder(cmd).redirectError(work.resolve("driver.log").toFile()),
                    () -> WorkDir.deleteTree(work));
        } catch (IOException e) {
            WorkDir.deleteTree(work);
            throw new VmmException("cannot start the VMM-side test driver: " + e.getMessage(), e);
        }
        VmmDriverProcess driver = new VmmDriverProcess(child, work);
        try {
            String line = driver.reply(READY_TIMEOUT);
            if (!"ready".equals(line)) {
                throw new VmmException("the VMM-side test driver did not start: " + driver.failure(line));
            }
        } catch (RuntimeException e) {
            driver.close();
            throw e;
        }
        return driver;
    }

    public long pid() {
        return child.pid();
    }

    /**
     * One VMM restored through the handler listening on {@code socket}: connect and hand over the memory, touch
     * {@code pages} in order, check them, disconnect. Fails in one line when a page differs, the driver fails,
     * or the driver is killed (a handler that could not serve it), within {@code timeout}.
     */
    public Restore restore(Path socket, long[] pages, Duration timeout) {
        Path list = work.resolve("pages-" + ++sessions);
        try {
            Files.writeString(list, Arrays.stream(pages).mapToObj(Long::toString).collect(Collectors.joining("\n", "", "\n")));
            commands.write("restore " + socket.toAbsolutePath() + " " + list + "\n");
            commands.flush();
        } catch (IOException e) {
            throw new VmmException("the VMM-side test driver (pid " + child.pid() + ") " + failure(null), e);
        }
        String line = reply(timeout);
        if (line == null || !line.startsWith("done ")) {
            throw new VmmException("the VMM-side test driver (pid " + child.pid() + ") " + failure(line));
        }
        String[] f = line.split(" ");
        return new Restore(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
    }

    /** The child's next line, or null when it ended or said nothing within {@code timeout}. */
    private String reply(Duration timeout) {
        CompletableFuture<String> next = CompletableFuture.supplyAsync(() -> {
            try {
                return replies.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        try {
            return next.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            child.stop(STOP_GRACE); // a driver hung on a page nobody serves: its readLine then ends
            return null;
        } catch (ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Why the child gave no result: its own one-line error, or how it ended (SIGKILL: the handler killed it). */
    private String failure(String line) {
        if (line != null && line.startsWith("error ")) {
            return "failed: " + line.substring("error ".length());
        }
        if (child.exitsWithin(Duration.ofSeconds(2))) {
            int status = child.process().exitValue();
            return status == 128 + 9 || status == 137
                    ? "was killed (SIGKILL), as a handler kills a VMM it cannot serve"
                    : "exited with status " + status + lastLog();
        }
        return "gave no answer in time" + lastLog();
    }

    private String lastLog() {
        List<String> lines = WorkDir.tail(work.resolve("driver.log"), 3).strip().lines().toList();
        return lines.isEmpty() ? "" : ": " + lines.getLast();
    }

    @Override
    public void close() {
        try {
            commands.close(); // end of input: the child exits
        } catch (IOException e) {
            // it has exited already
        }
        try {
            child.stop(STOP_GRACE);
        } finally {
            WorkDir.release(work);
            child.release();
        }
    }

    /**
     * The child: {@code VmmDriverProcess MEMORY_FILE}; prints {@code ready}, then for each line
     * {@code restore SOCKET PAGE_LIST} restores one VMM and prints {@code done RESUME_NS TOUCH_NS PAGES} or
     * {@code error MESSAGE} (a mismatch included); exits at the end of its input.
     */
    public static void main(String[] args) throws IOException {
        Path memory = Path.of(args[0]);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println("ready");
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ");
            try {
                long[] pages = Files.readAllLines(Path.of(f[2])).stream().filter(s -> !s.isBlank()).mapToLong(Long::parseLong).toArray();
                long start = System.nanoTime();
                long resumed;
                long done;
                SimulatedVmm.TouchResult r;
                // The trace splits the time before a handler accepts: this process's wake-up and set-up, then the connect.
                StoreTrace.event("vmm driver: maps its memory and connects");
                try (SimulatedVmm vmm = SimulatedVmm.start(Path.of(f[1]), memory, 1)) {
                    resumed = System.nanoTime();
                    StoreTrace.event("vmm driver: handshake sent");
                    r = vmm.touch(pages, 1);
                    done = System.nanoTime();
                }
                out.println(r.ok() ? "done " + (resumed - start) + " " + (done - resumed) + " " + r.touched()
                        : "error page " + r.firstMismatch() + " differs from " + memory);
            } catch (Exception e) {
                out.println("error " + String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString()));
            }
        }
    }
}
