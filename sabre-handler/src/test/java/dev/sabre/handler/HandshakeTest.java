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
        Handshake h = Handshake.parse(Handshake.toJson(regions, 4096), 4 * MIB);
        assertEquals(regions, h.regions());
    }

    @Test
    void acceptsWhiteSpaceAndUnknownFields() throws HandshakeException {
        String json = " [ {\"base_host_virt_addr\": 140737354096640, \"size\": 1048576, \"offset\": 0,\n"
                + " \"page_size\": 4096, \"page_size_kib\": 4096, \"extra\": [true, null, \"x\\u0041\"]} ] ";
        assertEquals(1, Handshake.parse(json, MIB).regions().size());
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

    @Test
    void hugePageRegionsServeASnapshotOfAnyPageSizeButMustBeUniformAndAligned() throws HandshakeException {
        long huge = 2 * MIB, base = 0x7f00_0000_0000L;
        List<GuestRegion> regions = List.of(new GuestRegion(base, 4 * huge, 0), new GuestRegion(base + 8 * huge, huge, 4 * huge));
        Handshake h = Handshake.parse(Handshake.toJson(regions, (int) huge), 5 * huge);
        assertEquals(huge, h.pageSize());
        assertTrue(h.hugePages());
        String mixed = "[" + region(base, 4 * huge, 0, huge) + "," + region(base + 8 * huge, huge, 4 * huge, 4096) + "]";
        assertMessage(5 * huge, mixed, "regions mix page sizes: region 0 has page_size 2097152, region 1 has 4096");
        assertMessage(huge, "[" + region(base + 4096, huge, 0, huge) + "]",
                "region 0: base_host_virt_addr 0x7f0000001000 is not aligned to its page_size 2097152 in the VMM's address space");
        assertMessage(2 * huge, "[" + region(base, huge, 0, huge) + "," + region(base + 2 * huge, huge, huge, huge)
                .replace("\"offset\":" + huge, "\"offset\":" + (huge + 4096)) + "]",
                "region 1: offset 2101248 is not aligned to its page_size 2097152 in the memory file");
        assertMessage(huge + 4096, "[" + region(base, huge, 0, huge) + "]",
                "the snapshot's memory of 2101248 bytes is not a multiple of the regions' page_size 2097152");
        assertMessage(huge, "[" + region(base, huge, 0, 1 << 30) + "]", "expected 4096 (base pages) or 2097152");
        String halves = "[{\"base_host_virt_addr\":" + base + ",\"size\":" + huge + ",\"offset\":0,\"page_size\":" + huge
                + ",\"page_size_kib\":2048}]";
        assertMessage(huge, halves, "page_size 2097152 / page_size_kib 2048");
    }

    private static String region(long base, long size, long offset, long pageSize) {
        return "{\"base_host_virt_addr\":" + base + ",\"size\":" + size + ",\"offset\":" + offset
                + ",\"page_size\":" + pageSize + ",\"page_size_kib\":" + pageSize + "}";
    }

    private static void assertMessage(long memory, String json, String expected) {
        HandshakeException e = assertThrows(HandshakeException.class, () -> Handshake.parse(json, memory), json);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
