package dev.sabre.linux;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Process ids and signals: who this process and thread are, and kill(2), with which a supervisor stops a
 * process it can no longer serve (a VMM whose page faults will never be answered would otherwise hang); a
 * thread's CPU priority, and the CPU time another process has run.
 */
public final class Processes {
    private Processes() {}

    public static final int SIGINT = 2;
    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;
    public static final int SIGCONT = 18;
    public static final int SIGSTOP = 19;

    /** getpid(2). */
    public static int getpid() {
        return Libc.getpid();
    }

    /** gettid(2): the calling thread's kernel id, as reported in page faults with UFFD_FEATURE_THREAD_ID. */
    public static int gettid() {
        return Libc.gettid();
    }

    /** The nice value of the lowest CPU priority. */
    public static final int LOWEST_PRIORITY = 19;
    private static final long SYS_SETPRIORITY = 141; // x86_64
    private static final long PRIO_PROCESS = 0;

    /**
     * setpriority(2) on the calling thread alone (Linux applies it to the thread id): gives it nice value
     * {@code nice}, so the scheduler runs it only as far as threads of higher priority leave a core idle. An
     * unprivileged thread can lower its priority but never raise it again.
     */
    public static void setThreadNice(int nice) throws LinuxException {
        Libc.check("setpriority(PRIO_PROCESS, " + gettid() + ", " + nice + ")", Libc.syscall(SYS_SETPRIORITY, PRIO_PROCESS, gettid(), nice, 0));
    }

    /**
     * CPU time process {@code pid}'s live threads have run, in nanoseconds: the first field of each
     * /proc/PID/task/TID/schedstat, which counts to the nanosecond where /proc/PID/stat counts 10 ms ticks. Threads
     * that have exited no longer count, so a difference over a window is exact for a process whose threads outlive
     * it (a server's pool). -1 when the process is gone or the kernel keeps no schedstat.
     */
    public static long cpuNanos(long pid) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        long sum = 0;
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
            for (Path thread : threads) {
                try {
                    String line = Files.readString(thread.resolve("schedstat")).trim();
                    int space = line.indexOf(' ');
                    sum += Long.parseLong(space < 0 ? line : line.substring(0, space));
                } catch (NoSuchFileException exited) {
                    // the thread ended between listing and reading
                }
            }
            return sum;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** kill(2); signal 0 only checks that the process exists (ESRCH if not). */
    public static void kill(int pid, int signal) throws LinuxException {
        Libc.check("kill(" + pid + ", " + signal + ")", Libc.kill(pid, signal));
    }
}
