package dev.sabre.handler;

import java.io.IOException;

/**
 * {@code sabre}: Sabre's eager compressed restore of a Full or Diff snapshot. The whole .sabre snapshot (or
 * snapshot in a store, fetched with parallel ranged requests) streams into guest memory with parallel decompression from the moment the VMM connects, while the guest
 * runs; a fault is served at once and pulls its chunk to the front.
 */
final class SabreStrategy implements StrategyPolicy {
    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        if (config.store() != null) {
            return MemorySources.open(null, null, config);
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
        if (session.sources().storeSnapshot() != null) {
            session.restoreFromStore(session.sources().storeSnapshot(), false);
        } else {
            session.prefetch(session.sources().snapshot());
        }
    }
}
