package dev.sabre.handler;

import java.io.IOException;
import java.util.ArrayDeque;

/**
 * {@code eager}: on the first fault, the whole memory is installed (a .sabre snapshot or a snapshot in a store
 * through the parallel restore engine, a raw file through the raw restore) before any fault is answered; faults that arrive
 * meanwhile wait and are answered when the restore is done.
 */
final class EagerStrategy implements StrategyPolicy {
    private record Deferred(long offset, long receivedNanos) {}

    private final ArrayDeque<Deferred> deferred = new ArrayDeque<>();
    private boolean started;
    private boolean done;

    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        return MemorySources.open(config.memory(), null, config);
    }

    @Override
    public void fault(Session session, long offset, long receivedNanos) throws IOException {
        if (done) {
            session.serve(offset, receivedNanos);
            return;
        }
        if (!started) {
            started = true;
            session.restoreAll();
        }
        deferred.add(new Deferred(offset, receivedNanos));
    }

    @Override
    public void restored(Session session) throws IOException {
        done = true;
        while (!deferred.isEmpty()) {
            Deferred fault = deferred.poll();
            session.serveUnlessRemoved(fault.offset(), fault.receivedNanos());
        }
    }
}
