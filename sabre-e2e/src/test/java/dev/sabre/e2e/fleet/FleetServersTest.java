package dev.sabre.e2e.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sabre.store.ObjectStore;
import dev.sabre.store.SnapshotStore;
import dev.sabre.vmm.VmmException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** S3Proxy as its own process, on 127.0.0.1 and behind a real shaped link; everything given back after. */
class FleetServersTest {
    @TempDir
    Path dir;

    @Test
    void s3ProxyServesTheStoreApiAndCountsRequests() throws Exception {
        byte[] data = new byte[3 << 20];
        new Random(1).nextBytes(data);
        S3ProxyProcess server = S3ProxyProcess.start(dir.resolve("data"), "sabre-test", null);
        try (server) {
            server.useInThisJvm();
            assertFalse(server.credentials().toString().contains(server.credentials().secret()));
            try (SnapshotStore store = SnapshotStore.open(server.location("p"), server.endpoint())) {
                ObjectStore objects = store.objects();
                objects.put("packs/x", data);
                long before = server.gets();
                assertArrayEquals(data, objects.get("packs/x"));
                byte[] part = objects.getRange("packs/x", 1000, 5000);
                assertEquals(data[1000], part[0]);
                awaitCount(server, before + 2);
                assertEquals(before + 2, server.gets());
            }
            // The object is a file of the bucket's folder, as the store's tests rely on.
            assertArrayEquals(data, Files.readAllBytes(dir.resolve("data/sabre-test/p/packs/x")));
        }
        assertFalse(server.isAlive(), "the server is stopped");
        assertFalse(Files.exists(server.workDir()), "no properties file (with the secret) survives the server");
    }

    @Test
    void aShapedLinkCarriesEveryByteAndIsRemovedAfter() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "network namespaces need root");
        String namespace;
        String hostEnd;
        try (ShapedLink link = ShapedLink.create(Rates.parse("200mbit"))) {
            namespace = link.namespace();
            hostEnd = namespace + "h";
            assertTrue(run("tc", "qdisc", "show", "dev", hostEnd).contains("tbf"), "host end shaped");
            assertTrue(run("ip", "netns", "exec", namespace, "tc", "qdisc", "show").contains("tbf"), "namespace end shaped");
            link.setRate(Rates.parse("50mbit"));
            assertTrue(run("tc", "qdisc", "show", "dev", hostEnd).contains("50Mbit"), run("tc", "qdisc", "show", "dev", hostEnd));
            byte[] data = new byte[2 << 20];
            new Random(2).nextBytes(data);
            try (S3ProxyProcess server = S3ProxyProcess.start(dir.resolve("data"), "sabre-link", link)) {
                assertTrue(server.endpoint().getHost().equals(link.namespaceAddress()));
                server.useInThisJvm();
                try (SnapshotStore store = SnapshotStore.open(server.location(""), server.endpoint())) {
                    store.objects().put("blob", data);
                    long received = link.receivedBytes();
                    assertArrayEquals(data, store.objects().get("blob"));
                    assertTrue(link.receivedBytes() - received >= data.length, "the object crossed the link");
                }
            }
        }
        assertFalse(run("ip", "netns", "list").contains(namespace), "namespace removed");
        assertFalse(Files.exists(Path.of("/sys/class/net", hostEnd)), "veth removed");
    }

    @Test
    void ratesParseAsTcWritesThem() {
        assertEquals(1_000_000_000L, Rates.parse("1gbit"));
        assertEquals(100_000_000L, Rates.parse("100mbit"));
        assertEquals(250_000_000L, Rates.parse("250M"));
        assertEquals("1 Gbit/s", Rates.format(1_000_000_000L));
        assertEquals("100 Mbit/s", Rates.format(100_000_000L));
        VmmException e = assertThrows(VmmException.class, () -> Rates.parse("fast"));
        assertTrue(e.getMessage().startsWith("link rate 'fast'"), e.getMessage());
    }

    private static void awaitCount(S3ProxyProcess server, long gets) throws InterruptedException {
        // The request log is read by another thread: give it a moment to catch up.
        for (int i = 0; i < 100 && server.gets() < gets; i++) {
            Thread.sleep(20);
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }
}
