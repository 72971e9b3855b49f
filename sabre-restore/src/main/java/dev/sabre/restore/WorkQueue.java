package dev.sabre.restore;

import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The tasks of a background restore, numbered 0 to n-1, run by a few worker threads: each task is taken
 * exactly once, in order, except that a task a fault needs can jump the queue or be taken out of it by the
 * fault itself. What {@link RestoreEngine} and {@link HugePagePrefetch} share.
 */
final class WorkQueue {
    private final AtomicIntegerArray claimed;
    private final AtomicInteger cursor = new AtomicInteger();
    private final ConcurrentLinkedDeque<Integer> urgent = new ConcurrentLinkedDeque<>();
    private final AtomicInteger active = new AtomicInteger();

    WorkQueue(int tasks) {
        this.claimed = new AtomicIntegerArray(tasks);
    }

    /** The next task to run, or -1 when every task is taken. */
    int next() {
        Integer first;
        while ((first = urgent.pollFirst()) != null) {
            if (claimed.compareAndSet(first, 0, 1)) {
                return first;
            }
        }
        int next;
        while ((next = cursor.getAndIncrement()) < claimed.length()) {
            if (claimed.compareAndSet(next, 0, 1)) {
                return next;
            }
        }
        return -1;
    }

    /** Makes {@code task} the next one taken, if no worker has taken it yet. */
    void prioritize(int task) {
        if (claimed.get(task) == 0) {
            urgent.addFirst(task);
        }
    }

    /** Takes {@code task} out of the queue for the caller; false when a worker already has it. */
    boolean take(int task) {
        return claimed.compareAndSet(task, 0, 1);
    }

    /** Whether every task was taken (a cancelled restore that got this far still did all its work). */
    boolean allTaken() {
        for (int i = 0; i < claimed.length(); i++) {
            if (claimed.get(i) == 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Starts {@code count} daemon threads named {@code name + i} running {@code work}. The last of them to
     * end runs {@code lastDone}. A thread that cannot be started (e.g. out of native threads) records its
     * error in {@code failure} and counts as ended with those not started, so {@code lastDone} still runs
     * once the started ones stop.
     */
    void startWorkers(String name, int count, Runnable work, AtomicReference<Throwable> failure, Runnable lastDone) {
        active.set(count);
        Runnable worker = () -> {
            try {
                work.run();
            } finally {
                workerDone(lastDone);
            }
        };
        for (int i = 0; i < count; i++) {
            try {
                Thread.ofPlatform().daemon().name(name + i).start(worker);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                for (int missing = count - i; missing > 0; missing--) {
                    workerDone(lastDone);
                }
                return;
            }
        }
    }

    private void workerDone(Runnable lastDone) {
        if (active.decrementAndGet() == 0) {
            lastDone.run();
        }
    }
}
