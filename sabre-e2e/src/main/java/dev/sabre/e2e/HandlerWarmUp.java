package dev.sabre.e2e;

import dev.sabre.handler.SimulatedVmm;
import dev.sabre.linux.Memory;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.LongStream;

/**
 * A warm-up session for a handler that restores from a store: the VMM-side test driver ({@link SimulatedVmm})
 * touches pages outside the function's working set, so the handler meets the measured restore as a
 * long-running one would (its JIT warm, its store connection open, its per-thread frame caches holding other
 * frames), while the working set's frames can still be made uncached by emptying the host cache after it.
 */
public final class HandlerWarmUp {
    /** Pages the warm-up touches, all non-zero and outside the working set. */
    static final int PAGES = 256;
    private static final Duration REPORT_TIMEOUT = Duration.ofSeconds(60);
    private static final Map<Path, long[]> CHOSEN = new ConcurrentHashMap<>();

    private HandlerWarmUp() {
    }

    /** Runs one warm-up session against {@code handler}, which serves {@code fs}; every touched byte is checked. */
    public static void run(HandlerProcess handler, FunctionSnapshot fs) {
        Path memory = fs.snapshot().memoryFile();
        try {
            long[] pages = CHOSEN.computeIfAbsent(memory.toAbsolutePath(), m -> pages(m, workingSetPages(fs), PAGES));
            try (SimulatedVmm vmm = SimulatedVmm.start(handler.socket(), memory, 1)) {
                if (!vmm.touch(pages, 1).ok()) {
                    throw new VmmException(handler + ": a warm-up page of " + fs.function() + " differs from " + memory);
                }
            }
        } catch (IOException e) {
            throw new VmmException("warm-up session of " + handler + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted during the warm-up session of " + handler);
        }
        if (handler.nextSession(REPORT_TIMEOUT) == null) {
            throw new VmmException(handler + " sent no report of its warm-up session within " + REPORT_TIMEOUT.toSeconds() + " s");
        }
    }

    /** The working set's pages in fault order. */
    public static long[] workingSetPages(FunctionSnapshot fs) {
        try {
            return StoreTarget.workingSet(fs).stream().flatMapToLong(r -> LongStream.range(r.firstPage(), r.endPage())).toArray();
        } catch (IOException e) {
            throw new VmmException("cannot read the working set " + fs.rawWorkingSet() + ": " + e.getMessage(), e);
        }
    }

    /** Up to {@code count} non-zero pages of {@code memory} outside {@code workingSet}, spread over the memory. */
    public static long[] pages(Path memory, long[] workingSet, int count) {
        BitSet ws = new BitSet();
        for (long p : workingSet) {
            ws.set(Math.toIntExact(p));
        }
        long pageSize = Memory.pageSize();
        List<Long> pages = new ArrayList<>();
        try (Arena arena = Arena.ofConfined(); FileChannel file = FileChannel.open(memory, StandardOpenOption.READ)) {
            MemorySegment bytes = file.map(FileChannel.MapMode.READ_ONLY, 0, file.size(), arena);
            MemorySegment zero = arena.allocate(pageSize);
            long total = file.size() / pageSize;
            long stride = Math.max(1, total / (count * 8L));
            for (long p = 0; p < total && pages.size() < count; p += stride) {
                if (!ws.get(Math.toIntExact(p)) && Memory.compare(bytes.asSlice(p * pageSize, pageSize), zero) != 0) {
                    pages.add(p);
                }
            }
        } catch (IOException e) {
            throw new VmmException("cannot read " + memory + ": " + e.getMessage(), e);
        }
        return pages.stream().mapToLong(Long::longValue).toArray();
    }
}
