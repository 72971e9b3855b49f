package dev.sabre.vmm.grpc;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The hand-written protobuf encoding of the one-string messages. */
class StringFieldMarshallerTest {
    private final StringFieldMarshaller m = StringFieldMarshaller.INSTANCE;

    @Test
    void encodesLikeProtobuf() throws Exception {
        assertArrayEquals(new byte[] {0x0a, 0x01, 'x'}, m.stream("x").readAllBytes());
        assertArrayEquals(new byte[0], m.stream("").readAllBytes());
        String big = "a".repeat(300);
        byte[] enc = m.stream(big).readAllBytes();
        assertEquals(0x0a, enc[0]);
        assertEquals((byte) 0xac, enc[1]);
        assertEquals(0x02, enc[2]);
        assertEquals(big, m.parse(new ByteArrayInputStream(enc)));
    }

    @Test
    void skipsUnknownFieldsAndRejectsTruncation() {
        byte[] withExtra = {0x10, 0x05, 0x0a, 0x02, 'o', 'k', 0x1d, 1, 2, 3, 4};
        assertEquals("ok", m.parse(new ByteArrayInputStream(withExtra)));
        assertEquals("", m.parse(new ByteArrayInputStream(new byte[0])));
        assertThrows(IllegalArgumentException.class, () -> m.parse(new ByteArrayInputStream(new byte[] {0x0a, 0x05, 'a'})));
    }
}
