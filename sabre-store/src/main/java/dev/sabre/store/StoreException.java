package dev.sabre.store;

import java.io.IOException;

/**
 * A store operation that failed: unreachable store, refused credentials, a missing, truncated or
 * corrupt object. The message is one line that names the object (store location and key) and never
 * holds credentials.
 */
public class StoreException extends IOException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
