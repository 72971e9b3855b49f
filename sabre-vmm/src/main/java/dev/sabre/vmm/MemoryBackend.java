package dev.sabre.vmm;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a restored VM's guest memory comes from, as Firecracker's {@code mem_backend} says it: {@link File},
 * the VMM maps the snapshot's memory file privately itself (stock Firecracker's File backend; the baseline);
 * {@link Uffd}, the VMM hands its guest memory over the Firecracker handshake (userfaultfd + JSON region list
 * over a Unix socket) to a page-fault handler that the caller started and that listens on
 * {@code handlerSocket}. It says nothing about how that handler serves the memory: that is the handler's
 * strategy ({@code lazy}, {@code reap}, {@code sabre} ...), which the VMM never sees.
 */
public sealed interface MemoryBackend {
    /** Firecracker's name for it: {@code file} or {@code uffd}. */
    String name();

    static MemoryBackend file() {
        return new File();
    }

    static MemoryBackend uffd(Path handlerSocket) {
        return new Uffd(handlerSocket);
    }

    /** The VMM maps the memory file itself (copy-on-write). */
    record File() implements MemoryBackend {
        @Override
        public String name() {
            return "file";
        }
    }

    /** Guest memory is served by a userfaultfd handler listening on {@code handlerSocket}. */
    record Uffd(Path handlerSocket) implements MemoryBackend {
        public Uffd {
            Objects.requireNonNull(handlerSocket, "handlerSocket");
        }

        @Override
        public String name() {
            return "uffd";
        }
    }
}
