package dev.sabre.linux;

/**
 * Process ids and signals: who this process and thread are, and kill(2), with which a supervisor stops a
 * process it can no longer serve (a VMM whose page faults will never be answered would otherwise hang).
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

    /** kill(2); signal 0 only checks that the process exists (ESRCH if not). */
    public static void kill(int pid, int signal) throws LinuxException {
        Libc.check("kill(" + pid + ", " + signal + ")", Libc.kill(pid, signal));
    }
}
