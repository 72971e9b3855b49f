package dev.sabre.store;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The store in an S3-compatible bucket under a prefix, through the AWS SDK for Java v2. Configured the
 * SDK's standard way: the endpoint from {@code --endpoint} or {@code AWS_ENDPOINT_URL}, region and
 * credentials from the default provider chains (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * profiles, ...). Path-style addressing, so any S3-compatible server works. Throttling and 5xx answers
 * are retried by the SDK's standard strategy with backoff, within {@link #MAX_ATTEMPTS} attempts and
 * {@link #CALL_TIMEOUT} per call. Error messages are built from the status and error code only, so
 * nothing a server echoes back (such as a key id) reaches a log.
 */
public final class S3ObjectStore implements ObjectStore {
    /** Attempts per request, the first included (the SDK's standard mode uses 3). */
    public static final int MAX_ATTEMPTS = 4;
    /** Bound on one call, retries and backoff included. */
    public static final Duration CALL_TIMEOUT = Duration.ofMinutes(2);
    /** Connections kept open: the working-set prefetch issues many ranged requests at once. */
    private static final int MAX_CONNECTIONS = 64;

    private final S3Client client;
    private final String bucket;
    private final String prefix;

    private S3ObjectStore(S3Client client, String bucket, String prefix) {
        this.client = client;
        this.bucket = bucket;
        this.prefix = prefix;
    }

    /**
     * Opens {@code s3://bucket[/prefix]}; {@code endpoint} (may be null) overrides the SDK's own endpoint
     * resolution (which reads AWS_ENDPOINT_URL).
     */
    public static S3ObjectStore open(String location, URI endpoint) throws StoreException {
        String rest = location.substring("s3://".length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1).replaceAll("/+$", "");
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new StoreException(location + ": '" + bucket + "' is not a valid bucket name");
        }
        if (!prefix.isEmpty()) {
            StoreLayout.checkKey(prefix);
        }
        try {
            S3ClientBuilder builder = S3Client.builder()
                    .forcePathStyle(true)
                    .credentialsProvider(DefaultCredentialsProvider.builder().build())
                    // Every object is checked against its SHA-256 name anyway; the SDK's default trailing
                    // CRC checksums (aws-chunked uploads) are refused by many S3-compatible servers.
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .httpClientBuilder(Apache5HttpClient.builder().maxConnections(MAX_CONNECTIONS))
                    .overrideConfiguration(c -> c
                            .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder().maxAttempts(MAX_ATTEMPTS).build())
                            .apiCallTimeout(CALL_TIMEOUT));
            if (endpoint != null) {
                builder.endpointOverride(endpoint);
            }
            builder.region(region(endpoint != null || System.getenv("AWS_ENDPOINT_URL") != null));
            return new S3ObjectStore(builder.build(), bucket, prefix);
        } catch (SdkException e) {
            throw new StoreException(location + ": cannot configure the S3 client: " + firstLine(e.getMessage()), e);
        }
    }

    /**
     * The region from the SDK's provider chain. An S3-compatible server at an explicit endpoint often has
     * no notion of region, so there a missing region means us-east-1 (what such servers expect).
     */
    private static Region region(boolean customEndpoint) {
        try {
            return new DefaultAwsRegionProviderChain().getRegion();
        } catch (SdkException e) {
            if (customEndpoint) {
                return Region.US_EAST_1;
            }
            throw e;
        }
    }

    @Override
    public String location() {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    private String s3Key(String key) {
        StoreLayout.checkKey(key);
        return prefix.isEmpty() ? key : prefix + "/" + key;
    }

    @Override
    public void put(String key, byte[] data) throws IOException {
        try {
            client.putObject(b -> b.bucket(bucket).key(s3Key(key)), RequestBody.fromBytes(data));
        } catch (SdkException e) {
            throw failure(key, "cannot write", e);
        }
    }

    @Override
    public byte[] get(String key) throws IOException {
        try {
            return client.getObjectAsBytes(b -> b.bucket(bucket).key(s3Key(key))).asByteArray();
        } catch (SdkException e) {
            throw failure(key, "cannot read", e);
        }
    }

    @Override
    public byte[] getRange(String key, long offset, int length) throws IOException {
        long last = offset + length - 1;
        ResponseBytes<GetObjectResponse> response;
        long start = System.nanoTime();
        long[] firstByte = {0};
        ResponseTransformer<GetObjectResponse, ResponseBytes<GetObjectResponse>> toBytes = ResponseTransformer.toBytes();
        try {
            response = client.getObject(b -> b.bucket(bucket).key(s3Key(key)).range("bytes=" + offset + "-" + last),
                    (r, in) -> {
                        firstByte[0] = System.nanoTime(); // the response's headers are in: its first byte came
                        return toBytes.transform(r, in);
                    });
        } catch (SdkException e) {
            throw rangeFailure(key, offset, length, e);
        }
        byte[] bytes = response.asByteArray();
        if (StoreTrace.on()) {
            StoreTrace.event("GET %s bytes %d..%d (%d): first byte %.2f ms, body %.2f ms", key, offset, offset + length, length,
                    (firstByte[0] - start) / 1e6, StoreTrace.ms(firstByte[0]));
        }
        if (bytes.length != length) {
            throw new CorruptObjectException(describe(key), "returned %d bytes for the range %d..%d (truncated?)"
                    .formatted(bytes.length, offset, offset + length));
        }
        return bytes;
    }

    /**
     * The range as it arrives: the SDK retries the request (throttling, 5xx) until its answer begins; a
     * transfer cut off later surfaces as an IOException from the stream, for the reader to resume.
     */
    @Override
    public InputStream openRange(String key, long offset, long length) throws IOException {
        long start = System.nanoTime();
        InputStream body;
        try {
            body = client.getObject(b -> b.bucket(bucket).key(s3Key(key)).range("bytes=" + offset + "-" + (offset + length - 1)));
        } catch (SdkException e) {
            throw rangeFailure(key, offset, length, e);
        }
        if (StoreTrace.on()) {
            StoreTrace.event("GET %s bytes %d..%d (%d) streamed: first byte %.2f ms", key, offset, offset + length, length,
                    StoreTrace.ms(start));
        }
        return new FilterInputStream(body) {
            @Override
            public int read() throws IOException {
                try {
                    return super.read();
                } catch (SdkException e) {
                    throw new IOException(firstLine(e.getMessage()), e);
                }
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    return super.read(b, off, len);
                } catch (SdkException e) {
                    throw new IOException(firstLine(e.getMessage()), e);
                }
            }
        };
    }

    private StoreException rangeFailure(String key, long offset, long length, SdkException e) {
        if (e instanceof AwsServiceException s && s.statusCode() == 416) {
            return new CorruptObjectException(describe(key), "has no bytes at %d..%d (truncated?)".formatted(offset, offset + length));
        }
        return failure(key, "cannot read", e);
    }

    @Override
    public Info head(String key) throws IOException {
        try {
            HeadObjectResponse r = client.headObject(b -> b.bucket(bucket).key(s3Key(key)));
            return new Info(key, r.contentLength(), r.lastModified());
        } catch (SdkException e) {
            if (isNotFound(e)) {
                return null;
            }
            throw failure(key, "cannot look up", e);
        }
    }

    @Override
    public List<Info> list(String keyPrefix) throws IOException {
        List<Info> found = new ArrayList<>();
        String full = prefix.isEmpty() ? keyPrefix : prefix + "/" + keyPrefix;
        try {
            for (S3Object o : client.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).prefix(full).build()).contents()) {
                String key = prefix.isEmpty() ? o.key() : o.key().substring(prefix.length() + 1);
                found.add(new Info(key, o.size(), o.lastModified()));
            }
        } catch (SdkException e) {
            throw failure(keyPrefix, "cannot list", e);
        }
        found.sort(java.util.Comparator.comparing(Info::key));
        return found;
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            client.deleteObject(b -> b.bucket(bucket).key(s3Key(key)));
        } catch (SdkException e) {
            if (!isNotFound(e)) {
                throw failure(key, "cannot delete", e);
            }
        }
    }

    private static boolean isNotFound(SdkException e) {
        return e instanceof NoSuchKeyException || e instanceof AwsServiceException s && s.statusCode() == 404;
    }

    /** One line naming the object, from the status and error code only (never the server's text). */
    private StoreException failure(String key, String action, SdkException e) {
        String object = describe(key);
        if (e instanceof NoSuchKeyException) {
            return new MissingObjectException(object);
        }
        if (e instanceof AwsServiceException s) {
            String code = s.awsErrorDetails() != null && s.awsErrorDetails().errorCode() != null ? s.awsErrorDetails().errorCode() : "";
            if (s.statusCode() == 404 && !"NoSuchBucket".equals(code)) {
                return new MissingObjectException(object);
            }
            String hint = switch (s.statusCode()) {
                case 401, 403 -> " (access denied: check the credentials and their permissions)";
                case 404 -> " (no such bucket)";
                default -> s.statusCode() >= 500 ? " (server error, retried " + (MAX_ATTEMPTS - 1) + " times)" : "";
            };
            return new StoreException("%s: %s: HTTP %d %s%s".formatted(object, action, s.statusCode(), code, hint), e);
        }
        return new StoreException(object + ": " + action + ": " + firstLine(e.getMessage()), e);
    }

    private static String firstLine(String message) {
        return message == null ? "no detail" : message.lines().findFirst().orElse(message);
    }

    @Override
    public void close() {
        client.close();
    }
}
