package dev.sabre.linux;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs actions that block in the kernel (a page fault, accept, madvise waiting for its REMOVE event) on daemon
 * threads, so a failing test can never keep the JVM alive, and remembers them so clean-up can wait for them.
 */
final class Background implements AutoCloseable {
    private final List<Thread> threads = new ArrayList<>();

    <T> CompletableFuture<T> run(String name, Callable<T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(action.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }, name);
        thread.setDaemon(true);
        threads.add(thread);
        thread.start();
        return result;
    }

    /** True if every thread ended within the time; callers must not free memory the others may still touch. */
    boolean awaitAll(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        for (Thread thread : threads) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !thread.join(java.time.Duration.ofNanos(left))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        try {
            awaitAll(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
