package dev.sabre.vmm;

/**
 * Every failure of the testbed (a missing host tool, an image that does not build, a VM that does not
 * come up, a snapshot that does not fit) surfaces as this one unchecked exception, whose message says
 * what went wrong and, where it helps, the tail of the relevant log.
 */
public class VmmException extends RuntimeException {
    public VmmException(String message) {
        super(message);
    }

    public VmmException(String message, Throwable cause) {
        super(message, cause);
    }
}
