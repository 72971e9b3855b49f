package dev.sabre.store;

import java.lang.foreign.MemorySegment;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256, the hash that names every immutable object and every page in a store. */
public final class Hashes {
    public static final int LENGTH = 32;
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    });

    private Hashes() {
    }

    public static byte[] sha256(byte[] data) {
        return SHA256.get().digest(data);
    }

    public static byte[] sha256(byte[] data, int offset, int length) {
        MessageDigest d = SHA256.get();
        d.update(data, offset, length);
        return d.digest();
    }

    public static byte[] sha256(MemorySegment data) {
        MessageDigest d = SHA256.get();
        d.update(data.asByteBuffer());
        return d.digest();
    }

    public static String hex(byte[] hash) {
        return HexFormat.of().formatHex(hash);
    }

    public static byte[] parse(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    /** Throws {@link CorruptObjectException} unless {@code data} hashes to {@code expected}: checked before any byte is used. */
    public static void check(String object, byte[] data, int offset, int length, byte[] expected) throws CorruptObjectException {
        byte[] actual = sha256(data, offset, length);
        if (!MessageDigest.isEqual(actual, expected)) {
            throw new CorruptObjectException(object, "content does not match its hash (expected sha256 %s, got %s)"
                    .formatted(hex(expected), hex(actual)));
        }
    }
}
