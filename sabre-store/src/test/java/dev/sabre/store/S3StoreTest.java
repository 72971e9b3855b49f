package dev.sabre.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import dev.sabre.restore.MemoryInstaller;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The store's behaviour on a real S3 server (S3Proxy) the test starts, plus what only a remote store can do wrong. */
class S3StoreTest extends StoreTestCase {
    private static final String BUCKET = "sabre-test";
    private S3ProxyServer server;

    @BeforeAll
    void startServer() throws Exception {
        server = S3ProxyServer.startInTempDir(BUCKET);
    }

    @AfterAll
    @Override
    void stopBackend() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @Override
    SnapshotStore newStore(String prefix) throws Exception {
        return SnapshotStore.open("s3://" + BUCKET + "/" + prefix, server.endpoint());
    }

    @Override
    Path objectFile(String prefix, String key) {
        return server.objectFile(BUCKET, prefix + "/" + key);
    }

    @Test
    void theStandardEnvironmentVariablesAloneConfigureTheStore() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 64);
        try (SnapshotStore store = newStore("env"); PageInput in = PageInput.open(memory, false)) {
            Pusher.push(store, in, List.of(), "from-env", Pusher.Options.defaults(), Progress.NONE);
        }
        ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), EnvConfiguredStore.class.getName(), "s3://" + BUCKET + "/env");
        child.environment().keySet().removeIf(k -> k.startsWith("AWS_"));
        child.environment().put("AWS_ENDPOINT_URL", server.endpoint().toString());
        child.environment().put("AWS_ACCESS_KEY_ID", S3ProxyServer.IDENTITY);
        child.environment().put("AWS_SECRET_ACCESS_KEY", S3ProxyServer.CREDENTIAL);
        child.environment().put("AWS_REGION", "eu-west-1");
        child.redirectErrorStream(true);
        Process process = child.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor() == 0 && output.lines().anyMatch("from-env"::equals), output);
    }

    @Test
    void wrongCredentialsAreOneLineWithoutSecrets() throws Exception {
        String secret = "wrong-secret-do-not-print-4711";
        S3ProxyServer.useCredentials("wrong-identity-do-not-print", secret);
        try (SnapshotStore store = newStore("creds")) {
            StoreException e = assertThrows(StoreException.class, store::names);
            assertOneLineNaming(e, "s3://" + BUCKET + "/creds");
            assertTrue(e.getMessage().contains("403"), e.getMessage());
            assertFalse(e.getMessage().contains(secret) || e.getMessage().contains("wrong-identity"), e.getMessage());
        } finally {
            S3ProxyServer.useCredentials(S3ProxyServer.IDENTITY, S3ProxyServer.CREDENTIAL);
        }
    }

    @Test
    void aServerStoppedMidRestoreGivesOneLineNamingTheObject() throws Exception {
        Path dir = Files.createTempDirectory(temp, "second-server");
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 2048);
        S3ProxyServer second = S3ProxyServer.start(dir, BUCKET);
        try (SnapshotStore store = SnapshotStore.open("s3://" + BUCKET + "/stop", second.endpoint())) {
            try (PageInput in = PageInput.open(memory, false)) {
                Pusher.push(store, in, List.of(new PageRun(0, 10)), "s", Pusher.Options.defaults(), Progress.NONE);
            }
            try (Arena arena = Arena.ofConfined(); StorePages pages = StorePages.open(store, "s", HostCache.open(temp.resolve("cache"), 1 << 30))) {
                MemoryInstaller installer = new MemoryInstaller(arena.allocate(pages.memorySize()));
                pages.serve(0, installer);
                second.close();
                StoreException e = assertThrows(StoreException.class, () -> pages.serve(2000, installer));
                assertOneLineNaming(e, "s3://" + BUCKET + "/stop/packs/");
            }
        } finally {
            second.close();
        }
    }
}
