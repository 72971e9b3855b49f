package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.restore.GuestRegion;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The handshake's JSON, parsed and validated on its own (the socket side is in RobustnessTest). */
class HandshakeTest {
    private static final long MIB = 1 << 20;

    @Test
    void firecrackerJsonRoundTrips() throws HandshakeException {
        List<GuestRegion> regions = List.of(new GuestRegion(0x7f00_0000_0000L, 3 * MIB, 0),
                new GuestRegion(0x7f10_0000_0000L, MIB, 3 * MIB));
        Handshake h = Handshake.parse(Handshake.toJson(regions, 4096), 4 * MIB, 4096);
        assertEquals(regions, h.regions());
    }

    @Test
    void acceptsWhiteSpaceAndUnknownFields() throws HandshakeException {
        String json = " [ {\"base_host_virt_addr\": 140737354096640, \"size\": 1048576, \"offset\": 0,\n"
                + " \"page_size\": 4096, \"page_size_kib\": 4096, \"extra\": [true, null, \"x\\u0041\"]} ] ";
        assertEquals(1, Handshake.parse(json, MIB, 4096).regions().size());
    }

    @Test
    void refusesWhatCannotBeServedExactly() {
        String base = "{\"base_host_virt_addr\":1099511627776,\"size\":1048576,\"offset\":0,\"page_size\":4096,\"page_size_kib\":";
        assertMessage(MIB, "[" + base + "4}]", "page_size_kib 4");
        assertMessage(MIB, "[" + base + "4096,\"size\":1}]", "appears twice");
        assertMessage(MIB, "[" + base + "-4096}]", "not a non-negative integer");
        assertMessage(MIB, "[" + base + "99999999999999999999}]", "does not fit in 64 bits");
        assertMessage(MIB, "[" + base + "4096}] trailing", "after the JSON value");
        assertMessage(2 * MIB, "[" + base + "4096}]", "cover 1048576 bytes");
    }

    private static void assertMessage(long memory, String json, String expected) {
        HandshakeException e = assertThrows(HandshakeException.class, () -> Handshake.parse(json, memory, 4096), json);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
