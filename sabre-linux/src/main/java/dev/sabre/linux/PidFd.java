package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process descriptor (pidfd): a handle on one process that stays bound to it after it exits, so a signal
 * sent through it can never reach another process that was given the same pid later. A page-fault handler
 * takes one for each VMM when it connects and kills through it, never by a pid number it read earlier.
 */
public final class PidFd implements AutoCloseable {
    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;

    private final int pid;
    private String command;
    private int fd;

    private PidFd(int fd, int pid) {
        this.fd = fd;
        this.pid = pid;
    }

    /**
     * The process at the other end of {@code socket} as of its connect: SO_PEERPIDFD (Linux 6.5+), which
     * the kernel took at connect time. On older kernels, pidfd_open of SO_PEERCRED's pid, which is as good
     * as long as that process has not exited since it connected.
     */
    public static PidFd ofPeer(UnixSocket socket) throws LinuxException {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            MemorySegment length = arena.allocateFrom(JAVA_INT, Integer.BYTES);
            int r = Libc.getsockopt(socket.fd(), SocketAbi.SOL_SOCKET, SocketAbi.SO_PEERPIDFD, value, length);
            if (r == -Errno.ENOPROTOOPT || r == -Errno.EINVAL) {
                int pid = socket.peerCredentials().pid();
                fd = (int) Libc.check("pidfd_open(" + pid + ")", Libc.syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0));
            } else {
                Libc.check("getsockopt(fd " + socket.fd() + ", SO_PEERPIDFD)", r);
                fd = value.get(JAVA_INT, 0);
            }
        }
        try {
            Fds.setCloseOnExec(fd, true);
            // SO_PEERCRED's pid was recorded at connect, like the pidfd: no /proc read on every connection.
            return new PidFd(fd, socket.peerCredentials().pid());
        } catch (LinuxException | RuntimeException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
    }

    /** The process id it had when this descriptor was taken. */
    public int pid() {
        return pid;
    }

    /**
     * Its command name (/proc/PID/comm), read the first time it is asked for while the process still runs
     * (so never another process's that reused the pid); "?" if it had exited or could not be read.
     */
    public synchronized String command() {
        if (command == null) {
            command = fd >= 0 && isAlive() ? commandOf(pid) : "?";
        }
        return command;
    }

    /** "pid 123 (qemu-system-x86)", for log lines that say what is killed. */
    public String describe() {
        return "pid " + pid + " (" + command() + ")";
    }

    /**
     * pidfd_send_signal(2).
     *
     * @return false if the process has already exited (nothing was signalled)
     */
    public boolean signal(int signal) throws LinuxException {
        long r = Libc.syscall(SYS_PIDFD_SEND_SIGNAL, fd, signal, 0, 0);
        if (r == -Errno.ESRCH) {
            return false;
        }
        Libc.check("pidfd_send_signal(" + describe() + ", " + signal + ")", r);
        return true;
    }

    @Override
    public synchronized void close() {
        Fds.closeQuietly(fd);
        fd = -1;
    }

    /** Whether the process still runs: the "Pid:" line of the pidfd's fdinfo turns -1 once it has exited. */
    private boolean isAlive() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
                if (line.startsWith("Pid:")) {
                    return Integer.parseInt(line.substring(4).trim()) > 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through: unknown
        }
        return false;
    }

    private static String commandOf(int pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/comm")), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}
