package dev.sabre.codec;

/** Compressed input that cannot be decoded, or that decodes to a length other than the one expected. */
public class CodecException extends Exception {
    public CodecException(String message) {
        super(message);
    }

    public CodecException(String message, Throwable cause) {
        super(message, cause);
    }
}
