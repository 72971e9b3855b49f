package dev.sabre.oci;

import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.WorkDir;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A private registry: Debian's {@code docker-registry} (the CNCF distribution server, {@code docker-registry serve
 * CONFIG}) on a free 127.0.0.1 port, storing in a given directory (kept, so blobs outlive the server) or in a
 * temporary one, optionally behind htpasswd basic auth. Its configuration and access log live in a private work
 * directory; the log tells which blobs were really fetched. {@link #close} stops it (SIGTERM, then SIGKILL) and
 * removes the work directory (and a temporary storage); a shutdown hook does the same if the JVM exits first.
 */
public final class RegistryServer implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);
    /** A port picked free can be taken before the server binds it: try a few. */
    private static final int START_ATTEMPTS = 3;
    private static final Pattern BLOB_GET =
            Pattern.compile("\"GET /v2/[^ ]+/blobs/(sha256:[0-9a-f]{64}) HTTP/1\\.1\" 200");

    private final String host;
    private final Path storage;
    private final boolean temporaryStorage;
    private final Path workDir;
    private final ChildProcess child;

    private RegistryServer(String host, Path storage, boolean temporaryStorage, Path workDir, ChildProcess child) {
        this.host = host;
        this.storage = storage;
        this.temporaryStorage = temporaryStorage;
        this.workDir = workDir;
        this.child = child;
    }

    /**
     * Starts a registry over {@code storage} (created if missing; null: a temporary directory removed at
     * {@link #close}); {@code htpasswd} (a file of user:bcrypt lines) turns on basic auth, null leaves it off.
     * Returns once it answers {@code /v2/}.
     */
    public static RegistryServer start(Path storage, Path htpasswd) {
        return start(storage, htpasswd == null ? "" : "auth:\n  htpasswd:\n    realm: sabre\n    path: "
                + htpasswd.toAbsolutePath() + "\n");
    }

    /**
     * Starts a registry behind bearer-token auth (the Docker Registry token protocol): clients get tokens from
     * {@code realm} for {@code service}; the registry accepts those issued by {@code issuer} and signed with a
     * key whose certificate is in {@code rootCertBundle} (PEM).
     */
    public static RegistryServer startWithTokenAuth(Path storage, String realm, String service, String issuer,
                                                    Path rootCertBundle) {
        return start(storage, "auth:\n  token:\n    realm: " + realm + "\n    service: " + service + "\n    issuer: "
                + issuer + "\n    rootcertbundle: " + rootCertBundle.toAbsolutePath() + "\n");
    }

    private static RegistryServer start(Path storage, String authConfig) {
        boolean temporary = storage == null;
        Path dir = temporary ? WorkDir.create("sabre-registry-storage") : storage.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new OciException("registry storage " + dir + ": cannot create it: " + e.getMessage(), e);
        }
        OciException last = null;
        for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
            try {
                return startOnFreePort(dir, temporary, authConfig);
            } catch (OciException e) {
                last = e;
            }
        }
        if (temporary) {
            WorkDir.deleteTree(dir);
        }
        throw last;
    }

    private static RegistryServer startOnFreePort(Path storage, boolean temporary, String authConfig) {
        Path work = WorkDir.create("sabre-registry");
        RegistryServer server = null;
        try {
            String host = "127.0.0.1:" + ChildProcess.freeLoopbackPort();
            String config = "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
                    + "storage:\n  filesystem:\n    rootdirectory: " + storage + "\n  delete:\n    enabled: true\n"
                    + "http:\n  addr: " + host + "\n" + authConfig;
            Path configFile = work.resolve("registry.yml");
            Files.writeString(configFile, config);
            ProcessBuilder builder = new ProcessBuilder("docker-registry", "serve", configFile.toString())
                    .redirectErrorStream(true).redirectOutput(work.resolve("registry.log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            ChildProcess child = ChildProcess.start(builder, () -> {
                WorkDir.deleteTree(work);
                if (temporary) {
                    WorkDir.deleteTree(storage);
                }
            });
            server = new RegistryServer(host, storage, temporary, work, child);
            server.awaitAnswering();
            return server;
        } catch (IOException e) {
            WorkDir.deleteTree(work);
            throw new OciException("registry over " + storage + ": cannot run docker-registry (install Debian's "
                    + "docker-registry package): " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (server != null) {
                server.stop(false);
            } else {
                WorkDir.deleteTree(work);
            }
            throw e;
        }
    }

    private void awaitAnswering() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create("http://" + host + "/v2/").toURL().openConnection();
                c.setConnectTimeout(500);
                c.setReadTimeout(5000);
                int status = c.getResponseCode();
                c.disconnect();
                if (status == 200 || status == 401) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (!child.isAlive() || System.nanoTime() > deadline) {
                String last = WorkDir.tail(workDir.resolve("registry.log"), 1).strip();
                throw new OciException("registry over " + storage + ": docker-registry did not answer at " + host
                        + (child.isAlive() ? " within " + START_TIMEOUT.toSeconds() + " s" : " (it exited)")
                        + (last.isEmpty() ? "" : ": " + Manifests.oneLine(last)));
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OciException("registry over " + storage + ": interrupted while starting", e);
            }
        }
    }

    /** {@code 127.0.0.1:PORT}, the registry part of a reference to an image here. */
    public String host() {
        return host;
    }

    /** The reference of {@code repoAndTag} ({@code repo:tag}) in this registry. */
    public String reference(String repoAndTag) {
        return host + "/" + repoAndTag;
    }

    /** The directory the registry keeps its repositories and blobs in. */
    public Path storage() {
        return storage;
    }

    /** The digests of the blobs this registry has served so far (one element per successful GET). */
    public List<String> blobGets() {
        List<String> gets = new ArrayList<>();
        Path log = workDir.resolve("registry.log");
        try {
            Matcher m = BLOB_GET.matcher(Files.readString(log));
            while (m.find()) {
                gets.add(m.group(1));
            }
        } catch (IOException e) {
            throw new OciException("registry at " + host + ": cannot read its access log " + log + ": " + e.getMessage(), e);
        }
        return gets;
    }

    public boolean isAlive() {
        return child.isAlive();
    }

    public long pid() {
        return child.pid();
    }

    /** Stops the registry and removes its work directory; its storage stays unless it was a temporary one. */
    @Override
    public void close() {
        stop(temporaryStorage);
    }

    private void stop(boolean removeStorage) {
        try {
            child.stop(STOP_GRACE);
        } finally {
            WorkDir.deleteTree(workDir);
            if (removeStorage) {
                WorkDir.deleteTree(storage);
            }
            child.release();
        }
    }

    @Override
    public String toString() {
        return "docker-registry at " + host + " over " + storage + " (pid " + child.pid() + ")";
    }
}
