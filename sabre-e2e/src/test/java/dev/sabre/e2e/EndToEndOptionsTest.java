package dev.sabre.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.handler.Strategy;

import dev.sabre.vmm.VmmException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What an end-to-end run refuses before it starts anything. */
class EndToEndOptionsTest {
    @Test
    void aStrategyListedTwiceIsRefused() {
        // One handler per strategy serves its rounds: a second entry would start and leak a second handler.
        VmmException e = assertThrows(VmmException.class, () -> new EndToEnd.Options(List.of("fibonacci"),
                List.of(Strategy.REAP, Strategy.LAZY, Strategy.REAP), 1, 0, "", true));
        assertTrue(e.getMessage().contains("listed twice"), e.getMessage());
    }

    @Test
    void nothingToMeasureIsRefused() {
        assertThrows(VmmException.class, () -> new EndToEnd.Options(List.of(), List.of(Strategy.REAP), 1, 0, "", true));
        assertThrows(VmmException.class, () -> new EndToEnd.Options(List.of("fibonacci"), List.of(), 1, 0, "", true));
    }

    @Test
    void hugePagesAddEveryHandlerStrategyOn2MiBToTheSameRounds() {
        VmmException fileOnly = assertThrows(VmmException.class, () -> new EndToEnd.Options(List.of("fibonacci"),
                List.of(Strategy.FILE), 1, 0, "", true, true));
        assertTrue(fileOnly.getMessage().startsWith("huge pages need a strategy served by a page-fault handler"),
                fileOnly.getMessage());
        var options = new EndToEnd.Options(List.of("fibonacci"), List.of(Strategy.FILE, Strategy.LAZY, Strategy.SABRE), 1, 0,
                "", true, true);
        assertEquals(List.of("file", "lazy", "sabre", "lazy 2M", "sabre 2M"),
                options.restores().stream().map(Object::toString).toList());
        assertEquals(3, new EndToEnd.Options(List.of("fibonacci"), List.of(Strategy.FILE, Strategy.LAZY, Strategy.SABRE), 1,
                0, "", true).restores().size());
    }

    @Test
    void aStoreAddsItsStrategiesFromTheStoreToTheSameRounds() {
        try (StoreTarget store = StoreTarget.open("/nonexistent/store", null, 0, dev.sabre.vmm.StepLog.stderr())) {
            var options = new EndToEnd.Options(List.of("fibonacci"), List.of(Strategy.FILE, Strategy.REAP_RECORD, Strategy.REAP_COMPRESSED),
                    1, 0, "", true, false, store);
            // reap-record writes a working set; it has nothing to restore from a store
            assertEquals(List.of("file", "reap-record", "reap-compressed", "file store", "reap-compressed store"),
                    options.restores().stream().map(Object::toString).toList());
            VmmException none = assertThrows(VmmException.class, () -> new EndToEnd.Options(List.of("fibonacci"),
                    List.of(Strategy.REAP_RECORD), 1, 0, "", true, false, store));
            assertTrue(none.getMessage().startsWith("--store needs a strategy that restores from a store"), none.getMessage());
        }
    }

    @Test
    void aLinkNeedsAnS3StoreWithoutEndpoint() {
        VmmException dir = assertThrows(VmmException.class,
                () -> StoreTarget.open("/srv/store", null, 1_000_000_000L, dev.sabre.vmm.StepLog.stderr()));
        assertTrue(dir.getMessage().startsWith("--link starts its own S3 server behind the link"), dir.getMessage());
        VmmException endpoint = assertThrows(VmmException.class, () -> StoreTarget.open("s3://b/p",
                java.net.URI.create("http://127.0.0.1:9"), 1_000_000_000L, dev.sabre.vmm.StepLog.stderr()));
        assertTrue(endpoint.getMessage().contains("with --endpoint"), endpoint.getMessage());
    }
}
