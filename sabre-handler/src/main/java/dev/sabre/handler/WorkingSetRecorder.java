package dev.sabre.handler;

import dev.sabre.format.PageRun;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The pages a guest faulted on, each once, in the order of its first fault: REAP's working set. Switched
 * on and off like the original's control commands; thread-safe.
 */
final class WorkingSetRecorder {
    private final BitSet seen = new BitSet();
    private long[] order = new long[4096];
    private int count;
    private boolean recording;

    /** Starts a new recording, forgetting any previous one. */
    synchronized void start() {
        seen.clear();
        count = 0;
        recording = true;
    }

    synchronized boolean isRecording() {
        return recording;
    }

    synchronized int pages() {
        return count;
    }

    /** Records pages {@code first .. first + count - 1} (one page, or the snapshot pages of one huge page). */
    synchronized void record(long first, long count) {
        if (!recording) {
            return;
        }
        for (long page = first; page < first + count; page++) {
            if (!seen.get((int) page)) {
                seen.set((int) page);
                if (this.count == order.length) {
                    order = Arrays.copyOf(order, this.count * 2);
                }
                order[this.count++] = page;
            }
        }
    }

    /**
     * Stops recording and returns the pages in fault order, consecutive ascending pages joined into runs;
     * empty if no recording was running (so two callers racing to stop write the working set once).
     */
    synchronized List<PageRun> stop() {
        if (!recording) {
            return List.of();
        }
        recording = false;
        List<PageRun> runs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long page = order[i];
            if (!runs.isEmpty() && runs.getLast().endPage() == page && runs.getLast().pageCount() < Integer.MAX_VALUE) {
                PageRun last = runs.removeLast();
                runs.add(new PageRun(last.firstPage(), last.pageCount() + 1));
            } else {
                runs.add(new PageRun(page, 1));
            }
        }
        return runs;
    }
}
