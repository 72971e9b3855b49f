package dev.sabre.oci;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The image transport: Debian's {@code skopeo}, which speaks the registry API (anonymous, basic and
 * bearer-token auth, TLS, retries), reads OCI layouts and archives and docker archives, and checks every
 * blob against its digest as it copies. Credentials reach it only through an auth file (never a command
 * line, where other users could read them); its errors become one line naming the image.
 */
final class Skopeo {
    private static final Pattern FATAL_MESSAGE = Pattern.compile("msg=\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final int MAX_OUTPUT = Manifests.MAX_MANIFEST_BYTES + 1;

    private final String executable;
    private final Path authFile;
    private final Duration timeout;

    Skopeo(String executable, Path authFile, Duration timeout) {
        this.executable = executable;
        this.authFile = authFile;
        this.timeout = timeout;
    }

    /** The manifest or index {@code name} points to, as stored (its bytes are what its digest covers). */
    byte[] inspectRaw(String name, boolean tlsVerify, String image) {
        List<String> command = new ArrayList<>(List.of(executable, "inspect", "--raw"));
        if (!tlsVerify) {
            command.add("--tls-verify=false");
        }
        if (authFile != null) {
            command.add("--authfile=" + authFile);
        }
        command.add(name);
        return run(command, image);
    }

    /**
     * Copies the linux/amd64 image {@code source} into an OCI layout ({@code destination} as {@code oci:DIR:TAG});
     * blobs already in the layout are not fetched again.
     */
    void copy(String source, boolean tlsVerify, String destination, String image) {
        List<String> command = new ArrayList<>(List.of(executable, "copy", "--quiet",
                "--override-os=linux", "--override-arch=amd64"));
        if (!tlsVerify) {
            command.add("--src-tls-verify=false");
        }
        if (authFile != null) {
            command.add("--src-authfile=" + authFile);
        }
        command.add(source);
        command.add(destination);
        run(command, image);
    }

    private byte[] run(List<String> command, String image) {
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new OciException("image " + image + ": cannot run " + executable
                    + " (install Debian's skopeo package): " + e.getMessage(), e);
        }
        try {
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readBounded(process.getErrorStream()));
            byte[] out = readBounded(process.getInputStream());
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new OciException("image " + image + ": skopeo " + command.get(1) + " timed out after "
                        + timeout.toSeconds() + " s");
            }
            if (process.exitValue() != 0) {
                throw new OciException("image " + image + ": " + reason(new String(err.join(), StandardCharsets.UTF_8)));
            }
            if (out.length >= MAX_OUTPUT) {
                throw new OciException("image " + image + ": manifest larger than " + Manifests.MAX_MANIFEST_BYTES
                        + " bytes");
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OciException("image " + image + ": interrupted", e);
        } finally {
            process.destroyForcibly();
        }
    }

    private static byte[] readBounded(InputStream in) {
        try (in) {
            byte[] bytes = in.readNBytes(MAX_OUTPUT);
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return bytes;
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** skopeo's fatal message ({@code level=fatal msg="..."}), unescaped, on one line. */
    static String reason(String stderr) {
        String message = null;
        Matcher m = FATAL_MESSAGE.matcher(stderr);
        while (m.find()) {
            message = m.group(1).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        if (message == null) {
            List<String> lines = stderr.lines().filter(l -> !l.isBlank()).toList();
            message = lines.isEmpty() ? "skopeo failed without a message" : lines.getLast();
        }
        return Manifests.oneLine(message);
    }
}
