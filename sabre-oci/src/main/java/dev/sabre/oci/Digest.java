package dev.sabre.oci;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest as the OCI image spec writes it, {@code sha256:<64 hex digits>}. Only sha256 is accepted:
 * it is what every registry and tool produces, and a digest from outside is a file name in the blob store,
 * so it is checked strictly before it is used as one.
 */
public record Digest(String hex) {
    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");

    public Digest {
        if (!hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a sha256 hex digest: " + hex);
        }
    }

    /** Parses {@code sha256:HEX}; {@code what} names the field in the error. */
    public static Digest parse(String text, String what) {
        if (text == null || !SHA256.matcher(text).matches()) {
            throw new OciException(what + ": not a sha256 digest: " + (text == null ? "missing" : abbreviate(text)));
        }
        return new Digest(text.substring("sha256:".length()));
    }

    public static Digest of(byte[] bytes) {
        return new Digest(HexFormat.of().formatHex(sha256().digest(bytes)));
    }

    /** The digest in its {@code sha256:HEX} form. */
    @Override
    public String toString() {
        return "sha256:" + hex;
    }

    /** The form used in messages: {@code sha256:} and the first 12 hex digits, as registries print it. */
    public String shortForm() {
        return "sha256:" + hex.substring(0, 12);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 77) + "...";
    }

    /** A stream that hashes and counts what passes through it, for checking a blob while it is consumed. */
    static final class Hashing extends FilterInputStream {
        private final MessageDigest digest = sha256();
        private long count;

        Hashing(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                digest.update((byte) b);
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                digest.update(b, off, n);
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            // Skipped bytes must be hashed too: read them.
            byte[] buffer = new byte[8192];
            long done = 0;
            while (done < n) {
                int r = read(buffer, 0, (int) Math.min(buffer.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        /** Reads what is left to the end, so the digest covers the whole blob. */
        void drain() throws IOException {
            byte[] buffer = new byte[64 * 1024];
            while (read(buffer, 0, buffer.length) >= 0) {
                // hashing only
            }
        }

        Digest digest() {
            return new Digest(HexFormat.of().formatHex(digest.digest()));
        }

        long count() {
            return count;
        }
    }
}
