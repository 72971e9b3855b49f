package dev.sabre.vmm.grpc;

import io.grpc.MethodDescriptor;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Protocol-buffers encoding of a message whose only field is {@code string} number 1 (the function's
 * HelloRequest.name and HelloReply.message), written by hand so the project needs no protoc step.
 * Unknown fields are skipped, as protobuf does.
 */
final class StringFieldMarshaller implements MethodDescriptor.Marshaller<String> {
    static final StringFieldMarshaller INSTANCE = new StringFieldMarshaller();
    private static final int MAX_MESSAGE = 16 << 20;

    @Override
    public InputStream stream(String value) {
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length + 6);
        if (text.length > 0) {
            out.write(0x0a); // field 1, wire type 2 (length-delimited)
            writeVarint(out, text.length);
            out.writeBytes(text);
        }
        return new ByteArrayInputStream(out.toByteArray());
    }

    @Override
    public String parse(InputStream stream) {
        byte[] b;
        try {
            b = stream.readNBytes(MAX_MESSAGE + 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (b.length > MAX_MESSAGE) {
            throw new IllegalArgumentException("reply larger than " + MAX_MESSAGE + " bytes");
        }
        String result = "";
        int[] pos = {0};
        while (pos[0] < b.length) {
            long key = readVarint(b, pos);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            switch (wire) {
                case 0 -> readVarint(b, pos);
                case 1 -> skip(b, pos, 8);
                case 5 -> skip(b, pos, 4);
                case 2 -> {
                    long len = readVarint(b, pos);
                    if (len < 0 || len > b.length - pos[0]) {
                        throw new IllegalArgumentException("truncated field " + field + " in reply");
                    }
                    if (field == 1) {
                        result = new String(b, pos[0], (int) len, StandardCharsets.UTF_8);
                    }
                    pos[0] += (int) len;
                }
                default -> throw new IllegalArgumentException("unsupported wire type " + wire + " in reply");
            }
        }
        return result;
    }

    private static void writeVarint(ByteArrayOutputStream out, int v) {
        while ((v & ~0x7f) != 0) {
            out.write((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }

    private static long readVarint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= b.length) {
                throw new IllegalArgumentException("truncated varint in reply");
            }
            byte x = b[pos[0]++];
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("varint too long in reply");
    }

    private static void skip(byte[] b, int[] pos, int n) {
        if (b.length - pos[0] < n) {
            throw new IllegalArgumentException("truncated field in reply");
        }
        pos[0] += n;
    }
}
