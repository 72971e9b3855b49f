package dev.sabre.bench.handler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A page-fault handler started as its own process, exactly as users start it ({@code sabre handler}), so
 * its threads, descriptors and memory can be read from /proc and SIGTERM tried on it.
 */
final class HandlerUnderTest implements AutoCloseable {
    /** The command line's entry point; the bench runs from the sabre jar, which holds it. */
    private static final String MAIN = "dev.sabre.cli.Main";

    final Path socket;
    final Path control;
    final Path log;
    private final Process process;

    private HandlerUnderTest(Path socket, Path control, Path log, Process process) {
        this.socket = socket;
        this.control = control;
        this.log = log;
        this.process = process;
    }

    static HandlerUnderTest start(Path dir, Path memory, String strategy) throws IOException, InterruptedException {
        Path socket = dir.resolve("uffd.sock"), control = dir.resolve("control.sock"), log = dir.resolve("handler.log");
        Files.deleteIfExists(log);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC",
                // A daemon's heap of fixed size, touched at start: what RSS then measures is native memory.
                "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-cp", System.getProperty("java.class.path"),
                MAIN, "handler", "--socket", socket.toString(), "--control", control.toString(),
                "--snapshot", memory.toString(), "--strategy", strategy));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HandlerUnderTest h = new HandlerUnderTest(socket, control, log, process);
        for (int i = 0; i < 600 && !(Files.exists(socket) && Files.readString(log).contains("serving")); i++) {
            if (!process.isAlive()) {
                throw new IOException("the handler exited at start: " + Files.readString(log).strip());
            }
            Thread.sleep(50);
        }
        if (!Files.exists(socket)) {
            h.close();
            throw new IOException("the handler did not start within 30 s: " + Files.readString(log).strip());
        }
        return h;
    }

    long pid() {
        return process.pid();
    }

    /** Threads of the handler process now. */
    long threads() throws IOException {
        return statusField("Threads:");
    }

    /** Resident memory of the handler process now, in KiB. */
    long rssKiB() throws IOException {
        return statusField("VmRSS:");
    }

    /** Open descriptors of the handler process now. */
    long descriptors() throws IOException {
        try (var fds = Files.list(Path.of("/proc/" + pid() + "/fd"))) {
            return fds.count();
        }
    }

    long logLines() throws IOException {
        try (var lines = Files.lines(log)) {
            return lines.count();
        }
    }

    private long statusField(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("/proc/" + pid() + "/status has no " + field);
    }

    /** Sends SIGTERM and returns the milliseconds until the process ended (-1: still running after 60 s, killed). */
    long terminate() throws InterruptedException {
        long t0 = System.nanoTime();
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            return -1;
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            terminate();
        }
    }
}
