package dev.sabre.handler;

import java.io.IOException;

/**
 * {@code reap-record}: lazy, and every faulting page is recorded in the order of its first fault; the
 * working set is written when recording stops (STOP_RECORD) or the VMM ends.
 */
final class ReapRecordStrategy extends LazyStrategy {
    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        if (config.workingSet() == null) {
            throw new IOException("strategy reap-record needs --ws FILE (where to write the working set)");
        }
        return super.open(config);
    }

    @Override
    public void ready(Session session) {
        session.startRecording();
    }
}
