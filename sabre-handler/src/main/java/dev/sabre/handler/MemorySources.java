package dev.sabre.handler;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotReader;
import dev.sabre.restore.PageSource;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.SnapshotPages;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;

/**
 * The files a handler serves from, opened and validated once at start and shared by every session: the
 * guest memory (raw or .sabre) and, for reap strategies, the working set layered over it. Refuses a
 * combination the strategy cannot use, and with {@code verify} checks every frame before anything is served.
 */
final class MemorySources implements AutoCloseable {
    private final PageSource memory;
    private final SnapshotPages workingSet;

    private MemorySources(PageSource memory, SnapshotPages workingSet) {
        this.memory = memory;
        this.workingSet = workingSet;
    }

    static MemorySources open(HandlerConfig config) throws IOException {
        Strategy strategy = config.strategy();
        PageSource memory = PageSource.open(config.memory());
        SnapshotPages ws = null;
        try {
            if (strategy == Strategy.SABRE && !(memory instanceof SnapshotPages)) {
                throw new IOException("strategy sabre restores a .sabre snapshot, but " + config.memory()
                        + " is a raw memory file (pack it with 'sabre pack')");
            }
            if (strategy.replaysWorkingSet() || strategy == Strategy.REAP_RECORD) {
                if (config.workingSet() == null) {
                    throw new IOException("strategy " + strategy + " needs --ws FILE");
                }
            }
            if (strategy.replaysWorkingSet()) {
                ws = SnapshotPages.open(config.workingSet(), memory);
                CodecId codec = ws.reader().header().codec();
                if (strategy == Strategy.REAP && codec != CodecId.NONE) {
                    throw new IOException(config.workingSet() + " is compressed with " + codec.label()
                            + "; strategy reap replays a raw working set, use reap-compressed");
                }
                if (strategy == Strategy.REAP_COMPRESSED && codec == CodecId.NONE) {
                    throw new IOException(config.workingSet() + " is not compressed; strategy reap-compressed replays a "
                            + "compressed working set, use reap");
                }
                if (ws.reader().prefetchOrder().isEmpty()) {
                    config.log().println("sabre handler: warning: " + config.workingSet()
                            + " has no prefetch order; prefetching it in file order");
                }
            }
            for (PageSource source : ws != null ? List.of(memory, ws) : List.of(memory)) {
                if (source instanceof SnapshotPages snapshot) {
                    warmUp(snapshot.reader());
                }
            }
            if (config.verify()) {
                if (memory instanceof SnapshotPages snapshot) {
                    RestoreEngine.verify(snapshot.reader(), config.restore(), Progress.NONE);
                }
                if (ws != null) {
                    RestoreEngine.verify(ws.reader(), config.restore(), Progress.NONE);
                }
            }
            return new MemorySources(memory, ws);
        } catch (IOException | RuntimeException e) {
            if (ws != null) {
                ws.close();
            }
            memory.close();
            throw e;
        }
    }

    /**
     * Decodes one frame now: the first decode in a JVM loads and links the native codec library (hundreds
     * of milliseconds), which must not land on the first VMM's restore.
     */
    private static void warmUp(SnapshotReader reader) throws IOException {
        if (reader.frames().isEmpty()) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            reader.readFrame(0, arena.allocate(reader.frameBytes(0), 4096));
        }
    }

    /** The whole guest memory. */
    PageSource memory() {
        return memory;
    }

    /** The memory as a .sabre snapshot, or null when it is a raw file. */
    SnapshotReader snapshot() {
        return memory instanceof SnapshotPages s ? s.reader() : null;
    }

    /** The working set (over the memory), or null. */
    SnapshotPages workingSet() {
        return workingSet;
    }

    /** Where single faulting pages come from: the working set first when there is one. */
    PageSource lazy() {
        return workingSet != null ? workingSet : memory;
    }

    Path memoryPath() {
        return memory instanceof SnapshotPages s ? s.reader().path() : ((dev.sabre.restore.RawMemoryPages) memory).path();
    }

    long memorySize() {
        return memory.memorySize();
    }

    int pageSize() {
        return memory.pageSize();
    }

    @Override
    public void close() throws IOException {
        try {
            if (workingSet != null) {
                workingSet.close();
            }
        } finally {
            memory.close();
        }
    }
}
