package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.store.FaultInjectingProxy;
import dev.sabre.store.S3ProxyServer;
import java.net.URI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

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

        /** The first attempt at every range of a pack is answered 503 SlowDown; the SDK's retries get every byte in. */
        @Test
        void sabreRestoresEveryByteFromAStoreThatThrottles() throws Exception {
            try (FaultInjectingProxy proxy = FaultInjectingProxy.start(server.endpoint())) {
                proxy.rule((request, attempt) -> request.method().equals("GET") && request.path().contains("/packs/")
                        && attempt == 1);
                restoreAndCheckEveryPage(config(Strategy.SABRE, COMPRESSED, proxy.endpoint()), (report, log) ->
                        assertTrue(proxy.slowDowns() > 0, proxy.attempts().toString()));
                System.out.printf("[StoreRestoreTest] sabre through 503 SlowDown: %d requests seen, %d answered SlowDown%n",
                        proxy.requests(), proxy.slowDowns());
            }
        }

        @Override
        URI endpoint() {
            return server.endpoint();
        }
    }
}
