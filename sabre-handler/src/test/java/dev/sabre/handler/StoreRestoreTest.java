package dev.sabre.handler;

import dev.sabre.store.S3ProxyServer;
import java.net.URI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;

/** {@link StoreRestoreTestCase} on both backends: a local directory and a real S3 server (S3Proxy). */
class StoreRestoreTest {
    @Nested
    class Directory extends StoreRestoreTestCase {
        @Override
        String store() {
            return dir.resolve("store").toString();
        }

        @Override
        URI endpoint() {
            return null;
        }
    }

    @Nested
    class S3 extends StoreRestoreTestCase {
        private static final String BUCKET = "sabre-handler-test";
        private S3ProxyServer server;

        @Override
        void startBackend() throws Exception {
            server = S3ProxyServer.startInTempDir(BUCKET);
        }

        @AfterAll
        void stopServer() throws Exception {
            if (server != null) {
                server.close();
            }
        }

        @Override
        String store() {
            return "s3://" + BUCKET + "/snapshots";
        }

        @Override
        URI endpoint() {
            return server.endpoint();
        }
    }
}
