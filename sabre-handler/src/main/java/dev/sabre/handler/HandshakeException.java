package dev.sabre.handler;

import java.io.IOException;

/** A VMM's handshake was refused: malformed, without a userfaultfd, or describing memory we cannot serve. */
public final class HandshakeException extends IOException {
    private static final long serialVersionUID = 1L;

    public HandshakeException(String message) {
        super(message);
    }
}
