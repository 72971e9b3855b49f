package dev.sabre.handler;

import dev.sabre.codec.CodecId;
import dev.sabre.store.Manifest;
import java.io.IOException;

/**
 * {@code reap} and {@code reap-compressed}: the recorded working set is installed in the background as soon
 * as the VMM is connected, raw (REAP) or compressed (Sabre's REAP compressed); faults are served from the
 * working set first, then from the memory, and pull the chunk they need to the front of the prefetch. From a
 * snapshot store, the working set is the one pushed with the snapshot (raw for {@code reap}: pushed with
 * {@code --raw}), fetched with parallel ranged requests and installed as it arrives.
 */
final class ReapStrategy implements StrategyPolicy {
    private final boolean compressed;

    ReapStrategy(boolean compressed) {
        this.compressed = compressed;
    }

    @Override
    public MemorySources open(HandlerConfig config) throws IOException {
        if (config.store() != null) {
            if (config.workingSet() != null) {
                throw new IOException("--ws " + config.workingSet() + ": the working set of " + config.store()
                        + " is in the store");
            }
            MemorySources sources = MemorySources.open(null, null, config);
            try {
                checkStored(sources.storeSnapshot().manifest(), config.store());
                sources.storeSnapshot().prepare(true);
            } catch (IOException e) {
                sources.close();
                throw e;
            }
            return sources;
        }
        if (config.workingSet() == null) {
            throw new IOException("strategy " + name() + " needs --ws FILE (the recorded working set)");
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

    /**
     * The same rule as for working-set files: {@code reap} replays a raw working set, so it takes a snapshot
     * pushed with {@code --raw}; {@code reap-compressed} one pushed compressed. The other way round is refused,
     * not served, so a measurement labelled REAP never fetches compressed frames (or the reverse).
     */
    private void checkStored(Manifest manifest, String store) throws IOException {
        if (manifest.workingSet().isEmpty()) {
            throw new IOException(store + " has no working set (push it with --ws) for strategy " + name());
        }
        boolean raw = manifest.codec() == CodecId.NONE;
        if (compressed == raw) {
            throw new IOException(compressed
                    ? store + " is stored raw (pushed with --raw); strategy reap-compressed replays a compressed working "
                            + "set, use reap"
                    : store + " is stored compressed with " + manifest.codec().label() + "; strategy reap replays a raw "
                            + "working set: push it with --raw, or use reap-compressed");
        }
    }

    private String name() {
        return compressed ? "reap-compressed" : "reap";
    }

    /**
     * From a store, the working set starts coming as soon as a VMM connects, before its handshake has arrived
     * (as E2B fetches before the userfaultfd is ready); the prefetch then waits for those transfers.
     */
    @Override
    public void connecting(MemorySources sources) {
        if (sources.storeSnapshot() != null) {
            sources.storeSnapshot().startFetching(true);
        }
    }

    /** A fault on a page the prefetch installs is left to it (no second decode); any other is served at once. */
    @Override
    public void fault(Session session, long offset, long receivedNanos) throws IOException {
        if (!session.leaveToPrefetch(offset, receivedNanos)) {
            session.serve(offset, receivedNanos);
        }
    }

    @Override
    public void ready(Session session) throws IOException {
        if (session.sources().storeSnapshot() != null) {
            session.restoreFromStore(session.sources().storeSnapshot(), true);
        } else {
            session.prefetch(session.sources().workingSet().reader());
        }
    }
}
