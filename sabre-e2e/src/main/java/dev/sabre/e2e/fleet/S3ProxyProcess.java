package dev.sabre.e2e.fleet;

import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.DriverSupport;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real S3 server for benchmarks and the demo: S3Proxy (jclouds' filesystem provider over a directory; a
 * bucket is a folder of it) as its own java process, so its Jetty, jclouds and logging never meet ours. It
 * listens on 127.0.0.1, or behind a {@link ShapedLink} inside the link's namespace, with AWS v2/v4
 * authentication and an identity and secret generated for this run: they go to the server in a private
 * properties file and to clients through the SDK's standard variables, and are never printed (lines of the
 * server's output that contain either are dropped). The server's GET and PUT requests are counted from its
 * request log. {@link #close} stops it (SIGTERM, then SIGKILL) and removes its work directory; so does a
 * shutdown hook if the JVM exits first.
 */
public final class S3ProxyProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);
    /** Port inside a link's namespace: the namespace is new, so nothing else listens there. */
    private static final int NAMESPACE_PORT = 9000;
    private static final String REGION = "us-east-1";

    /** A generated identity (access key id) and secret; {@link #toString} shows neither. */
    public record Credentials(String identity, String secret) {
        static Credentials generate() {
            SecureRandom random = new SecureRandom();
            byte[] id = new byte[10];
            byte[] secret = new byte[30];
            random.nextBytes(id);
            random.nextBytes(secret);
            return new Credentials("SABRE" + HexFormat.of().withUpperCase().formatHex(id), HexFormat.of().formatHex(secret));
        }

        @Override
        public String toString() {
            return "Credentials[redacted]";
        }
    }

    private final String bucket;
    private final URI endpoint;
    private final Credentials credentials;
    private final Path workDir;
    private final ChildProcess child;
    private final AtomicLong gets = new AtomicLong();
    private final AtomicLong puts = new AtomicLong();
    private final Deque<String> lastLines = new ArrayDeque<>();

    private S3ProxyProcess(String bucket, URI endpoint, Credentials credentials, Path workDir, ChildProcess child) {
        this.bucket = bucket;
        this.endpoint = endpoint;
        this.credentials = credentials;
        this.workDir = workDir;
        this.child = child;
        Thread.ofPlatform().daemon().name("sabre-s3proxy-log").start(this::readLog);
    }

    /**
     * Starts S3Proxy serving {@code dataDir} (created if missing) with the bucket {@code bucket} in it, on
     * 127.0.0.1 or, with {@code link}, inside the link's namespace; returns once it answers HTTP.
     */
    public static S3ProxyProcess start(Path dataDir, String bucket, ShapedLink link) {
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{2,62}")) {
            throw new VmmException("bucket name '" + bucket + "': 3-63 lower-case letters, digits, dots and dashes");
        }
        Path jar = jar();
        Credentials credentials = Credentials.generate();
        Path work = WorkDir.create("sabre-s3proxy");
        try {
            Files.createDirectories(dataDir.resolve(bucket));
            String host = link == null ? "127.0.0.1" : link.namespaceAddress();
            int port = link == null ? ChildProcess.freeLoopbackPort() : NAMESPACE_PORT;
            URI endpoint = URI.create("http://" + host + ":" + port);
            Path properties = work.resolve("s3proxy.properties");
            writeProperties(properties, endpoint, credentials, dataDir.toAbsolutePath());
            List<String> cmd = new ArrayList<>(link == null ? List.of() : link.exec());
            cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                    "-XX:+UseSerialGC", "-jar", jar.toString(), "--properties", properties.toString()));
            ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            // Debug level is what logs each request ("request: Request(GET http://...)"), which is how they are counted.
            builder.environment().put("LOG_LEVEL", "debug");
            ChildProcess child = ChildProcess.start(builder, () -> WorkDir.deleteTree(work));
            S3ProxyProcess server = new S3ProxyProcess(bucket, endpoint, credentials, work, child);
            server.awaitAnswering();
            return server;
        } catch (IOException e) {
            WorkDir.deleteTree(work);
            throw new VmmException("cannot start S3Proxy over " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * S3Proxy's runnable jar: where the build copied it (sabre-e2e/target/s3proxy), else the same jar in the
     * local Maven repository; {@code -Dsabre.s3proxy.jar} overrides both.
     */
    static Path jar() {
        String override = System.getProperty("sabre.s3proxy.jar");
        if (override != null) {
            return existing(List.of(Path.of(override)));
        }
        Properties built = new Properties();
        try (InputStream in = S3ProxyProcess.class.getResourceAsStream("s3proxy.properties")) {
            if (in == null) {
                throw new VmmException("s3proxy.properties is missing from the class path: rebuild with mvn package");
            }
            built.load(in);
        } catch (IOException e) {
            throw new VmmException("cannot read s3proxy.properties from the class path: " + e.getMessage(), e);
        }
        return existing(List.of(Path.of(built.getProperty("jar")), Path.of(built.getProperty("repository.jar"))));
    }

    private static Path existing(List<Path> candidates) {
        return candidates.stream().filter(Files::isRegularFile).findFirst().orElseThrow(() -> new VmmException(
                "S3Proxy's jar is not at " + candidates + ": build the project (mvn package) to fetch it"));
    }

    private static void writeProperties(Path file, URI endpoint, Credentials credentials, Path dataDir) throws IOException {
        String text = String.join("\n",
                "s3proxy.endpoint=" + endpoint,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + credentials.identity(),
                "s3proxy.credential=" + credentials.secret(),
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + dataDir,
                "");
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, text, StandardOpenOption.WRITE);
    }

    private void awaitAnswering() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!child.isAlive()) {
                String why = lastLine();
                close();
                throw new VmmException("S3Proxy exited at start" + (why.isEmpty() ? "" : ": " + why));
            }
            try {
                HttpURLConnection c = (HttpURLConnection) endpoint.toURL().openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(5000);
                c.getResponseCode(); // any answer (403 without credentials) means it serves
                c.disconnect();
                return;
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                close();
                throw new VmmException("S3Proxy did not answer at " + endpoint + " within " + START_TIMEOUT.toSeconds() + " s");
            }
            DriverSupport.sleep(100);
        }
    }

    private void readLog() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.process().getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                int at = line.indexOf("request: Request(");
                if (at >= 0) {
                    if (line.startsWith("GET", at + 17)) {
                        gets.incrementAndGet();
                    } else if (line.startsWith("PUT", at + 17)) {
                        puts.incrementAndGet();
                    }
                    continue;
                }
                if (line.contains("] D ") || line.contains(credentials.identity()) || line.contains(credentials.secret())) {
                    continue;
                }
                synchronized (lastLines) {
                    lastLines.addLast(line);
                    if (lastLines.size() > 20) {
                        lastLines.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            // the server exited
        }
    }

    private String lastLine() {
        synchronized (lastLines) {
            return lastLines.stream().filter(l -> l.contains("] E ") || l.contains("Exception")).reduce((a, b) -> b)
                    .orElse(lastLines.isEmpty() ? "" : lastLines.getLast()).strip();
        }
    }

    /** The server's process id. */
    public long pid() {
        return child.pid();
    }

    public URI endpoint() {
        return endpoint;
    }

    public String bucket() {
        return bucket;
    }

    /** {@code s3://BUCKET/PREFIX}: a store location on this server. */
    public String location(String prefix) {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    public Credentials credentials() {
        return credentials;
    }

    /** The SDK's standard variables that make a client process use this server's credentials and region. */
    public Map<String, String> clientEnvironment() {
        return Map.of("AWS_ACCESS_KEY_ID", credentials.identity(), "AWS_SECRET_ACCESS_KEY", credentials.secret(),
                "AWS_REGION", REGION);
    }

    /**
     * Makes SDK clients in this JVM use this server's credentials and region (the SDK's standard system
     * properties, part of its default chains).
     */
    public void useInThisJvm() {
        System.setProperty("aws.accessKeyId", credentials.identity());
        System.setProperty("aws.secretAccessKey", credentials.secret());
        System.setProperty("aws.region", REGION);
    }

    /** GET requests served so far (counted from the request log; a request is logged before it is answered). */
    public long gets() {
        return gets.get();
    }

    /**
     * GET requests served so far, once the request log has caught up: the log is read by another thread, so
     * this waits until the count stops moving (200 ms apart).
     */
    public long settledGets() {
        long last = -1;
        long now = gets();
        while (now != last) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            last = now;
            now = gets();
        }
        return now;
    }

    public long puts() {
        return puts.get();
    }

    public boolean isAlive() {
        return child.isAlive();
    }

    /** The server's private work directory (its properties file, with the secret); gone once it is stopped. */
    Path workDir() {
        return workDir;
    }

    /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its work directory (properties with the secret). */
    @Override
    public void close() {
        try {
            child.stop(STOP_GRACE);
        } finally {
            WorkDir.deleteTree(workDir);
            child.release();
        }
    }

    @Override
    public String toString() {
        return "S3Proxy at " + endpoint + " (pid " + child.pid() + ")";
    }
}
