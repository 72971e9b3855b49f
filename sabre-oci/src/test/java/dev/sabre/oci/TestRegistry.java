package dev.sabre.oci;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real registry for the tests: Debian's {@code docker-registry} (the CNCF distribution server) on a free
 * loopback port, storing under a temporary directory, optionally behind htpasswd (basic) auth. Its access
 * log tells which blobs were really fetched. Stopped by {@link #close()}.
 */
public final class TestRegistry implements AutoCloseable {
    private static final Pattern BLOB_GET =
            Pattern.compile("\"GET /v2/[^ ]+/blobs/(sha256:[0-9a-f]{64}) HTTP/1\\.1\" 200");

    public final String host;
    final Path storage;
    private final Path log;
    private final Process process;

    private TestRegistry(String host, Path storage, Path log, Process process) {
        this.host = host;
        this.storage = storage;
        this.log = log;
        this.process = process;
    }

    /** Starts a registry; {@code htpasswd} (a file of user:bcrypt lines) turns on basic auth, null leaves it off. */
    public static TestRegistry start(Path dir, Path htpasswd) throws Exception {
        return startWithAuth(dir, htpasswd == null ? ""
                : "auth:\n  htpasswd:\n    realm: sabre-test\n    path: " + htpasswd + "\n");
    }

    /** Starts a registry whose configuration's {@code auth:} section is {@code authConfig} ("" for none). */
    public static TestRegistry startWithAuth(Path dir, String authConfig) throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        Path storage = Files.createDirectories(dir.resolve("storage"));
        String config = "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
                + "storage:\n  filesystem:\n    rootdirectory: " + storage + "\n  delete:\n    enabled: true\n"
                + "http:\n  addr: 127.0.0.1:" + port + "\n" + authConfig;
        Path configFile = dir.resolve("registry.yml");
        Files.writeString(configFile, config);
        Path log = dir.resolve("registry.log");
        Process process = new ProcessBuilder("docker-registry", "serve", configFile.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        TestRegistry registry = new TestRegistry("127.0.0.1:" + port, storage, log, process);
        try {
            registry.awaitReady();
        } catch (Exception e) {
            registry.close();
            throw e;
        }
        return registry;
    }

    private void awaitReady() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create("http://" + host + "/v2/").toURL().openConnection();
                c.setConnectTimeout(500);
                int status = c.getResponseCode();
                c.disconnect();
                if (status == 200 || status == 401) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("docker-registry did not start: " + Files.readString(log));
            }
            Thread.sleep(50);
        }
    }

    /** The digests of the blobs this registry has served so far (one element per successful GET). */
    public List<String> blobGets() throws IOException {
        List<String> gets = new ArrayList<>();
        Matcher m = BLOB_GET.matcher(Files.readString(log));
        while (m.find()) {
            gets.add(m.group(1));
        }
        return gets;
    }

    /** Pushes {@code source} (any skopeo name) to {@code repo:tag} here; {@code authFile} may be null. */
    public String push(String source, String repoAndTag, Path authFile, boolean all) throws Exception {
        List<String> command = new ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
        if (all) {
            command.add("--all");
        }
        if (authFile != null) {
            command.add("--dest-authfile=" + authFile);
        }
        command.add(source);
        command.add("docker://" + host + "/" + repoAndTag);
        run(command);
        return host + "/" + repoAndTag;
    }

    public static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    /** Where the registry stores a blob's bytes. */
    Path blobData(Digest digest) {
        return storage.resolve("docker/registry/v2/blobs/sha256").resolve(digest.hex().substring(0, 2))
                .resolve(digest.hex()).resolve("data");
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
