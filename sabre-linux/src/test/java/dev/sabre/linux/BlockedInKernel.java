package dev.sabre.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Waits until a thread is inside a blocking system call, as /proc/self/task/TID/syscall shows it: a test
 * that must act on a blocked thread waits for that condition instead of sleeping and hoping. x86-64
 * system call numbers.
 */
final class BlockedInKernel {
    static final int READ = 0, POLL = 7, PPOLL = 271, ACCEPT4 = 288;

    private BlockedInKernel() {
    }

    /** Returns once thread {@code tid} of this process is in one of {@code syscalls}; fails after 10 s. */
    static void await(int tid, int... syscalls) throws IOException, InterruptedException {
        Path file = Path.of("/proc/self/task/" + tid + "/syscall");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String state = "";
        while (System.nanoTime() < deadline) {
            state = Files.readString(file).trim(); // "running", or the number of the call it is in, then its arguments
            String number = state.split(" ")[0];
            if (Arrays.stream(syscalls).anyMatch(s -> Integer.toString(s).equals(number))) {
                return;
            }
            Thread.sleep(1); // polling the condition, not a guess at how long it takes
        }
        throw new AssertionError("thread " + tid + " did not block in system call " + Arrays.toString(syscalls)
                + " within 10 s; its state: " + state);
    }
}
