package dev.sabre.oci;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one of the containers tools (skopeo, buildah) from Debian as a process: bounded in time and in the
 * output kept, and a failure turned into one line naming the image and what the tool said.
 */
final class HostTool {
    /** logrus' fatal line, as skopeo and buildah print it: {@code level=fatal msg="..."}. */
    private static final Pattern FATAL_MESSAGE = Pattern.compile("msg=\"((?:[^\"\\\\]|\\\\.)*)\"");
    static final int MAX_OUTPUT = Manifests.MAX_MANIFEST_BYTES + 1;

    private final String executable;
    private final String debianPackage;
    private final Duration timeout;

    HostTool(String executable, String debianPackage, Duration timeout) {
        this.executable = executable;
        this.debianPackage = debianPackage;
        this.timeout = timeout;
    }

    /** Runs {@code executable args...} and returns its standard output (at most {@link #MAX_OUTPUT} bytes kept). */
    byte[] run(List<String> args, String image) {
        List<String> command = new ArrayList<>();
        command.add(executable);
        command.addAll(args);
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new OciException("image " + image + ": cannot run " + executable + " (install Debian's "
                    + debianPackage + " package): " + e.getMessage(), e);
        }
        try {
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readBounded(process.getInputStream()));
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readBounded(process.getErrorStream()));
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new OciException("image " + image + ": " + executable + " " + args.getFirst()
                        + " timed out after " + timeout.toSeconds() + " s");
            }
            if (process.exitValue() != 0) {
                throw new OciException("image " + image + ": " + reason(new String(err.join(), StandardCharsets.UTF_8)));
            }
            return out.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OciException("image " + image + ": interrupted", e);
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    private static byte[] readBounded(InputStream in) {
        try (in) {
            byte[] bytes = in.readNBytes(MAX_OUTPUT);
            in.transferTo(OutputStream.nullOutputStream());
            return bytes;
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** The tool's fatal message, unescaped, else its last line of error output; on one line. */
    String reason(String stderr) {
        String message = null;
        Matcher m = FATAL_MESSAGE.matcher(stderr);
        while (m.find()) {
            message = m.group(1).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        if (message == null) {
            List<String> lines = stderr.lines().filter(l -> !l.isBlank()).toList();
            message = lines.isEmpty() ? executable + " failed without a message" : lines.getLast();
        }
        return Manifests.oneLine(message);
    }
}
