package dev.sabre.store;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Little-endian encoding of the store's binary objects, with reads bounded by the object's length. */
final class Wire {
    private Wire() {
    }

    /** An eight-letter ASCII tag as the u64 whose little-endian bytes spell it. */
    static long magic(String tag) {
        return ByteBuffer.wrap(tag.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Writer u64(long v) {
            out.write(scratch.clear().putLong(v).array(), 0, 8);
            return this;
        }

        Writer u32(int v) {
            out.write(scratch.clear().putInt(v).array(), 0, 4);
            return this;
        }

        Writer u16(int v) {
            out.write(scratch.clear().putShort((short) v).array(), 0, 2);
            return this;
        }

        Writer bytes(byte[] b) {
            out.write(b, 0, b.length);
            return this;
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }

    static final class Reader {
        private final String object;
        private final ByteBuffer in;

        Reader(String object, byte[] data) {
            this.object = object;
            this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        private void need(int n) throws CorruptObjectException {
            if (in.remaining() < n) {
                throw corrupt("ends at byte " + in.limit() + ", " + n + " bytes short at offset " + in.position() + " (truncated?)");
            }
        }

        long u64() throws CorruptObjectException {
            need(8);
            return in.getLong();
        }

        int u32() throws CorruptObjectException {
            need(4);
            return in.getInt();
        }

        int u16() throws CorruptObjectException {
            need(2);
            return Short.toUnsignedInt(in.getShort());
        }

        byte[] bytes(int n) throws CorruptObjectException {
            need(n);
            byte[] b = new byte[n];
            in.get(b);
            return b;
        }

        int remaining() {
            return in.remaining();
        }

        /** Checks that {@code count} entries of {@code entryBytes} each can be read, before anything is allocated for them. */
        int count(long count, int entryBytes, String field) throws CorruptObjectException {
            if (count < 0 || count > in.remaining() / entryBytes) {
                throw corrupt(field + " " + Long.toUnsignedString(count) + " needs more bytes than the " + in.remaining()
                        + " left at offset " + in.position() + " (truncated?)");
            }
            return (int) count;
        }

        void end() throws CorruptObjectException {
            if (in.hasRemaining()) {
                throw corrupt(in.remaining() + " unexpected bytes after the end at offset " + in.position());
            }
        }

        CorruptObjectException corrupt(String what) {
            return new CorruptObjectException(object, what);
        }
    }
}
