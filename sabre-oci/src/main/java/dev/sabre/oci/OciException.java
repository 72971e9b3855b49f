package dev.sabre.oci;

/**
 * Why an image could not be resolved, fetched or applied: one line naming the image and the blob, field
 * or layer entry at fault. Never carries credentials.
 */
public class OciException extends RuntimeException {
    public OciException(String message) {
        super(message);
    }

    public OciException(String message, Throwable cause) {
        super(message, cause);
    }
}
