package dev.sabre.vmm;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How a restored VM gets its guest memory. {@link File}: the VMM maps the snapshot's memory file
 * privately itself (stock Firecracker's File backend; the baseline). {@link Uffd}: the VMM hands its
 * guest memory over the Firecracker handshake (userfaultfd + JSON region list over a Unix socket) to a
 * page-fault handler that the caller started and that listens on {@code handlerSocket}.
 */
public sealed interface RestoreMode {
    /** The stable name: {@code file} or {@code uffd}. */
    String name();

    static RestoreMode file() {
        return new File();
    }

    static RestoreMode uffd(Path handlerSocket) {
        return new Uffd(handlerSocket);
    }

    /** The VMM maps the memory file itself (copy-on-write). */
    record File() implements RestoreMode {
        @Override
        public String name() {
            return "file";
        }
    }

    /** Guest memory is served by a userfaultfd handler listening on {@code handlerSocket}. */
    record Uffd(Path handlerSocket) implements RestoreMode {
        public Uffd {
            Objects.requireNonNull(handlerSocket, "handlerSocket");
        }

        @Override
        public String name() {
            return "uffd";
        }
    }
}
