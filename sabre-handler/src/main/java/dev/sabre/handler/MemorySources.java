package dev.sabre.handler;

import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotReader;
import dev.sabre.restore.PageSource;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.SnapshotPages;
import dev.sabre.store.StorePages;
import dev.sabre.store.StoreSnapshots;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;

/**
 * The files a handler serves from, opened and validated once at start and shared by every session: the
 * guest memory (raw or .sabre) and, for the reap strategies, the working set layered over it. With
 * {@code verify}, every frame is checked before anything is served. Which files a strategy needs, and what
 * it refuses, is the strategy's decision ({@link StrategyPolicy#open}).
 */
final class MemorySources implements AutoCloseable {
    private final Path memoryFile;
    private final PageSource memory;
    private final SnapshotPages workingSet;

    private MemorySources(Path memoryFile, PageSource memory, SnapshotPages workingSet) {
        this.memoryFile = memoryFile;
        this.memory = memory;
        this.workingSet = workingSet;
    }

    /**
     * Opens the memory (the configured store snapshot, else {@code memoryFile}) and, if not null, the working
     * set {@code workingSetFile} over it.
     */
    static MemorySources open(Path memoryFile, Path workingSetFile, HandlerConfig config) throws IOException {
        PageSource memory = config.store() != null
                ? StoreSnapshots.open(config.store(), config.storeEndpoint(), StoreSnapshots.cache(config.storeCache()),
                        config.storeDisk())
                : PageSource.open(memoryFile);
        if (config.store() != null) {
            memoryFile = null;
        }
        SnapshotPages ws = null;
        try {
            if (workingSetFile != null) {
                ws = SnapshotPages.open(workingSetFile, memory);
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
            return new MemorySources(memoryFile, memory, ws);
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

    /** The memory as a snapshot in a store, or null when it is a local file. */
    StorePages storeSnapshot() {
        return memory instanceof StorePages s ? s : null;
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

    /** The memory file: the raw file or the .sabre snapshot; null for a snapshot in a store. */
    Path memoryPath() {
        return memoryFile;
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
