package dev.sabre.firecracker;

import dev.sabre.vmm.VmmException;

/**
 * Firecracker answered a request with an error. The message is one line naming the request, the HTTP
 * status and Firecracker's own {@code fault_message}, which is usually enough to fix the cause.
 */
public final class FirecrackerException extends VmmException {
    private final String method;
    private final String path;
    private final int status;
    private final String faultMessage;

    public FirecrackerException(String method, String path, int status, String faultMessage) {
        super("Firecracker rejected " + method + " " + path + " (HTTP " + status + "): " + faultMessage);
        this.method = method;
        this.path = path;
        this.status = status;
        this.faultMessage = faultMessage;
    }

    public String method() {
        return method;
    }

    public String path() {
        return path;
    }

    public int status() {
        return status;
    }

    /** Firecracker's {@code fault_message}, or the raw body when it sent none. */
    public String faultMessage() {
        return faultMessage;
    }
}
