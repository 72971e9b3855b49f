package dev.sabre.vmm.image;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs host commands for the image builder with a bound, progress on long ones, and an error that
 * quotes the end of the command's output, so a failed debootstrap or apt-get says why.
 */
public final class Commands {
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(20);

    private Commands() {
    }

    /** Runs the command, appending its output to {@code log}; throws with the log's tail on failure. */
    public static void run(List<String> command, Path log, Duration timeout, StepLog progress, String what) {
        run(command, log, timeout, progress, what, null);
    }

    /** As {@link #run(List, Path, Duration, StepLog, String)}, in the working directory {@code dir}. */
    public static void run(List<String> command, Path log, Duration timeout, StepLog progress, String what,
                           Path dir) {
        Process process = null;
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            Files.writeString(log, "$ " + String.join(" ", command) + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            ProcessBuilder builder = new ProcessBuilder(command);
            if (dir != null) {
                builder.directory(dir.toFile());
            }
            process = builder
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            long start = System.nanoTime();
            long deadline = start + timeout.toNanos();
            while (!process.waitFor(PROGRESS_EVERY.toMillis(), TimeUnit.MILLISECONDS)) {
                long now = System.nanoTime();
                if (now > deadline) {
                    throw new VmmException(what + ": timed out after " + timeout.toSeconds() + " s\n"
                            + tail(log, 20));
                }
                progress.step(what + ": still running (" + (now - start) / 1_000_000_000L + " s)");
            }
            if (process.exitValue() != 0) {
                throw new VmmException(what + " failed (exit " + process.exitValue() + "; full log "
                        + log + "):\n" + tail(log, 20));
            }
        } catch (IOException e) {
            throw new VmmException(what + ": cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException(what + ": interrupted", e);
        } finally {
            if (process != null && process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }
    }

    /** Runs a short command and returns its standard output; throws when it fails. */
    public static String output(List<String> command, Duration timeout) {
        try {
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            byte[] out;
            try (var in = process.getInputStream()) {
                out = in.readAllBytes();
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new VmmException(String.join(" ", command) + ": timed out");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new VmmException(String.join(" ", command) + " failed (exit " + process.exitValue() + "): "
                        + text.strip());
            }
            return text;
        } catch (IOException e) {
            throw new VmmException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException(String.join(" ", command) + ": interrupted", e);
        }
    }

    /** The last {@code lines} lines of a text file, or a note that it cannot be read; as {@link WorkDir#tail}. */
    public static String tail(Path file, int lines) {
        return WorkDir.tail(file, lines);
    }
}
