package dev.sabre.handler;

import java.io.IOException;

/**
 * What one restore strategy decides, over the runtime a {@link Session} provides (the handshake, the event
 * loop, installing pages, the background restore engine): Firecracker's example handlers are short policies
 * over one shared runtime in the same way. A policy object belongs to one session; {@link #open} is called
 * once per handler on a fresh instance.
 */
interface StrategyPolicy {
    /** Opens and checks what this strategy serves from; refuses files it cannot use, naming them. */
    MemorySources open(HandlerConfig config) throws IOException;

    /**
     * A VMM has connected and its handshake is on the way (on the accepting thread, so it must return at once):
     * start what needs no guest memory yet, e.g. fetching the working set from a store.
     */
    default void connecting(MemorySources sources) {}

    /** The VMM's memory is registered: start prefetching, or nothing until the first fault. */
    default void ready(Session session) throws IOException {}

    /** Answers a fault at {@code offset} of the memory file, on a page that was not removed. */
    default void fault(Session session, long offset, long receivedNanos) throws IOException {
        session.serve(offset, receivedNanos);
    }

    /** The background restore this policy started has finished successfully. */
    default void restored(Session session) throws IOException {}
}
