package dev.sabre.handler;

import java.io.IOException;

/**
 * {@code sabre}: Sabre's eager compressed restore of a Full or Diff snapshot. The whole .sabre snapshot
 * streams into guest memory with parallel decompression from the moment the VMM connects, while the guest
 * runs; a fault is served at once and pulls its chunk to the front.
 */
final class SabreStrategy implements StrategyPolicy {
    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        if (config.store() != null) {
            throw new IOException("strategy sabre does not restore from a store yet: restore " + config.store()
                    + " with lazy or reap-compressed");
        }
        MemorySources sources = MemorySources.open(config.memory(), null, config);
        if (sources.snapshot() == null) {
            sources.close();
            throw new IOException("strategy sabre restores a .sabre snapshot, but " + config.memory()
                    + " is a raw memory file (pack it with 'sabre pack')");
        }
        return sources;
    }

    @Override
    public void ready(Session session) throws IOException {
        session.prefetch(session.sources().snapshot());
    }
}
