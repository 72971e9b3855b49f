package dev.sabre.store;

import java.net.URI;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3 server for tests: S3Proxy over jclouds' filesystem provider, listening on 127.0.0.1 on a free
 * port, with AWS v2/v4 authentication. A bucket is a folder of the base directory and an object a file
 * in it, so tests can damage objects where the server keeps them. Shared with the handler's tests
 * through this module's test jar.
 */
public final class S3ProxyServer implements AutoCloseable {
    public static final String IDENTITY = "sabre-test-identity";
    public static final String CREDENTIAL = "sabre-test-credential-7f3a9c";

    private final Path baseDir;
    private final BlobStoreContext context;
    private final S3Proxy proxy;
    private boolean ownsBaseDir;

    private S3ProxyServer(Path baseDir, BlobStoreContext context, S3Proxy proxy) {
        this.baseDir = baseDir;
        this.context = context;
        this.proxy = proxy;
    }

    /**
     * A server over a fresh temporary directory, deleted by {@link #close}, with the test credentials set
     * as the SDK's system properties: what a test class starts once.
     */
    public static S3ProxyServer startInTempDir(String bucket) throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory("sabre-s3proxy");
        S3ProxyServer server;
        try {
            server = start(dir, bucket);
        } catch (Exception e) {
            deleteTree(dir);
            throw e;
        }
        server.ownsBaseDir = true;
        useCredentials(IDENTITY, CREDENTIAL);
        return server;
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var files = java.nio.file.Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    public static S3ProxyServer start(Path baseDir, String bucket) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("jclouds.filesystem.basedir", baseDir.toString());
        BlobStoreContext context = ContextBuilder.newBuilder("filesystem").overrides(properties).build(BlobStoreContext.class);
        context.getBlobStore().createContainerInLocation(null, bucket);
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(context.getBlobStore())
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, IDENTITY, CREDENTIAL)
                .build();
        proxy.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                proxy.stop();
                context.close();
                throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
            }
            Thread.sleep(10);
        }
        return new S3ProxyServer(baseDir, context, proxy);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    /** The file the server keeps object {@code key} of {@code bucket} in. */
    public Path objectFile(String bucket, String key) {
        return baseDir.resolve(bucket).resolve(key);
    }

    /** Sets the SDK's standard system properties (part of its default credential and region chains). */
    public static void useCredentials(String identity, String credential) {
        System.setProperty("aws.accessKeyId", identity);
        System.setProperty("aws.secretAccessKey", credential);
        System.setProperty("aws.region", "us-east-1");
    }

    @Override
    public void close() throws Exception {
        try {
            proxy.stop();
        } finally {
            context.close();
            if (ownsBaseDir) {
                deleteTree(baseDir);
            }
        }
    }
}
