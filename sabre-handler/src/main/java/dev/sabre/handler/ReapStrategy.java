package dev.sabre.handler;

import dev.sabre.codec.CodecId;
import java.io.IOException;

/**
 * {@code reap} and {@code reap-compressed}: the recorded working set is installed in the background as soon
 * as the VMM is connected, raw (REAP) or compressed (Sabre's REAP compressed); faults are served from the
 * working set first, then from the memory, and pull the chunk they need to the front of the prefetch. From a
 * snapshot store, the working set is the one pushed with the snapshot, fetched with parallel ranged requests
 * and installed as it arrives.
 */
final class ReapStrategy implements StrategyPolicy {
    private final boolean compressed;

    ReapStrategy(boolean compressed) {
        this.compressed = compressed;
    }

    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        String name = compressed ? "reap-compressed" : "reap";
        if (config.store() != null) {
            if (!compressed) {
                throw new IOException("a store keeps working sets compressed: restore " + config.store()
                        + " with reap-compressed");
            }
            if (config.workingSet() != null) {
                throw new IOException("--ws " + config.workingSet() + ": the working set of " + config.store()
                        + " is in the store");
            }
            return MemorySources.open(null, null, config);
        }
        if (config.workingSet() == null) {
            throw new IOException("strategy " + name + " needs --ws FILE (the recorded working set)");
        }
        MemorySources sources = MemorySources.open(config.memory(), config.workingSet(), config);
        CodecId codec = sources.workingSet().reader().header().codec();
        if (compressed == (codec == CodecId.NONE)) {
            sources.close();
            throw new IOException(compressed
                    ? config.workingSet() + " is not compressed; strategy reap-compressed replays a compressed working "
                            + "set, use reap"
                    : config.workingSet() + " is compressed with " + codec.label() + "; strategy reap replays a raw "
                            + "working set, use reap-compressed");
        }
        if (sources.workingSet().reader().prefetchOrder().isEmpty()) {
            config.log().println("sabre handler: warning: " + config.workingSet()
                    + " has no prefetch order; prefetching it in file order");
        }
        return sources;
    }

    @Override
    public void ready(Session session) throws IOException {
        if (session.sources().storeSnapshot() != null) {
            session.prefetchStoredWorkingSet(session.sources().storeSnapshot());
        } else {
            session.prefetch(session.sources().workingSet().reader());
        }
    }
}
