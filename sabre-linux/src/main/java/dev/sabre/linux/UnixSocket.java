package dev.sabre.linux;

import static dev.sabre.linux.SocketAbi.IOVEC;
import static dev.sabre.linux.SocketAbi.IOV_BASE;
import static dev.sabre.linux.SocketAbi.IOV_LEN;
import static dev.sabre.linux.SocketAbi.MSGHDR;
import static dev.sabre.linux.SocketAbi.MSG_CONTROL;
import static dev.sabre.linux.SocketAbi.MSG_CONTROLLEN;
import static dev.sabre.linux.SocketAbi.MSG_IOV;
import static dev.sabre.linux.SocketAbi.MSG_IOVLEN;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Unix-domain stream socket (AF_UNIX, SOCK_STREAM, close-on-exec) that can pass file descriptors
 * (SCM_RIGHTS) and tell who the peer is (SO_PEERCRED): what a process needs to hand its userfaultfd to a
 * page-fault handler in another process. {@link java.nio.channels.SocketChannel} speaks Unix sockets but
 * can do neither.
 *
 * <p>A thread blocked in {@link #accept} is not woken by {@link #close} from another thread (and closing a
 * descriptor another thread still uses invites it to act on a reused number). Wake it with
 * {@link #shutdown shutdown(SHUT_RDWR)}, after which accept fails with EINVAL, then close; or wait with a
 * {@link PollSet} on the socket and an {@link EventFd}.
 */
public final class UnixSocket implements AutoCloseable {
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;
    /** Most descriptors one message can carry (the kernel's SCM_MAX_FD). */
    public static final int MAX_FDS = SocketAbi.SCM_MAX_FD;

    /** Two connected sockets; closing the pair closes both. */
    public record Pair(UnixSocket first, UnixSocket second) implements AutoCloseable {
        @Override
        public void close() {
            first.closeQuietly();
            second.closeQuietly();
        }
    }

    private final AtomicInteger fd;

    private UnixSocket(int fd) {
        this.fd = new AtomicInteger(fd);
    }

    /**
     * A socket bound to {@code path} and listening. Fails with EADDRINUSE if the path exists, even as a
     * stale socket of a dead process: remove it first if that is safe.
     */
    public static UnixSocket listen(Path path, int backlog) throws LinuxException {
        UnixSocket socket = create(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SocketAbi.SOCKADDR_UN);
            int length = SocketAbi.unixAddress(address, path, "bind");
            Libc.check("bind(" + path + ")", Libc.bind(socket.fd(), address, length));
            Libc.check("listen(" + path + ")", Libc.listen(socket.fd(), backlog));
            return socket;
        } catch (LinuxException | RuntimeException e) {
            socket.closeQuietly();
            throw e;
        }
    }

    /** A socket connected to the listener at {@code path}. */
    public static UnixSocket connect(Path path) throws LinuxException {
        UnixSocket socket = create(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SocketAbi.SOCKADDR_UN);
            int length = SocketAbi.unixAddress(address, path, "connect");
            Libc.check("connect(" + path + ")", Libc.connect(socket.fd(), address, length));
            return socket;
        } catch (LinuxException | RuntimeException e) {
            socket.closeQuietly();
            throw e;
        }
    }

    /** socketpair(2): two sockets connected to each other, e.g. for a child process. */
    public static Pair pair() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            Libc.check("socketpair", Libc.socketpair(SocketAbi.AF_UNIX,
                    SocketAbi.SOCK_STREAM | SocketAbi.SOCK_CLOEXEC, 0, fds));
            return new Pair(new UnixSocket(fds.getAtIndex(JAVA_INT, 0)), new UnixSocket(fds.getAtIndex(JAVA_INT, 1)));
        }
    }

    /** Takes ownership of a connected or listening Unix stream socket created elsewhere. */
    public static UnixSocket adopt(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new UnixSocket(fd);
    }

    private static UnixSocket create(int flags) throws LinuxException {
        return new UnixSocket(Libc.check("socket(AF_UNIX, SOCK_STREAM)",
                Libc.socket(SocketAbi.AF_UNIX, SocketAbi.SOCK_STREAM | SocketAbi.SOCK_CLOEXEC | flags, 0)));
    }

    /** The descriptor, e.g. to poll; -1 once closed. */
    public int fd() {
        return fd.get();
    }

    /** Waits for a connection and returns it, close-on-exec and blocking. */
    public UnixSocket accept() throws LinuxException {
        return accept(false);
    }

    /**
     * accept4(2): the next connection, close-on-exec, and non-blocking if asked. On a listening socket made
     * non-blocking ({@link Fds#setNonBlocking}) with nothing pending, throws EAGAIN.
     */
    public UnixSocket accept(boolean nonBlocking) throws LinuxException {
        int flags = SocketAbi.SOCK_CLOEXEC | (nonBlocking ? SocketAbi.SOCK_NONBLOCK : 0);
        int r;
        do {
            r = Libc.accept4(fd(), flags);
        } while (r == -Errno.EINTR);
        return new UnixSocket(Libc.check("accept4(fd " + fd() + ")", r));
    }

    /**
     * Sends all of {@code payload} (at least one byte: on a stream socket descriptors travel only with
     * data), with {@code fds} as one SCM_RIGHTS control message on the first part. The descriptors stay
     * open here; the receiver gets its own copies. Never raises SIGPIPE (EPIPE is thrown instead).
     */
    public void send(byte[] payload, int... fds) throws LinuxException {
        if (payload.length == 0) {
            throw new IllegalArgumentException("empty payload: a stream socket cannot carry descriptors alone");
        }
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException(fds.length + " descriptors, at most " + MAX_FDS + " fit in a message");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocateFrom(JAVA_BYTE, payload);
            MemorySegment iov = arena.allocate(IOVEC);
            MemorySegment msg = arena.allocate(MSGHDR);
            msg.set(ADDRESS, MSG_IOV, iov);
            msg.set(JAVA_LONG, MSG_IOVLEN, 1L);
            if (fds.length > 0) {
                long space = SocketAbi.cmsgSpace((long) Integer.BYTES * fds.length);
                MemorySegment control = arena.allocate(space, Long.BYTES);
                SocketAbi.putRights(control, fds);
                msg.set(ADDRESS, MSG_CONTROL, control);
                msg.set(JAVA_LONG, MSG_CONTROLLEN, space);
            }
            long sent = 0;
            while (sent < payload.length) {
                iov.set(ADDRESS, IOV_BASE, data.asSlice(sent));
                iov.set(JAVA_LONG, IOV_LEN, payload.length - sent);
                long n;
                do {
                    n = Libc.sendmsg(fd(), msg, SocketAbi.MSG_NOSIGNAL);
                } while (n == -Errno.EINTR);
                sent += Libc.check("sendmsg(fd " + fd() + ", " + payload.length + " bytes, " + fds.length + " fds)", n);
                // The descriptors went with the first part.
                msg.set(ADDRESS, MSG_CONTROL, MemorySegment.NULL);
                msg.set(JAVA_LONG, MSG_CONTROLLEN, 0L);
            }
        }
    }

    /**
     * One sendmsg(2) of {@code payload[offset, offset + length)} without descriptors, for event loops on a
     * non-blocking socket: returns how many bytes the kernel took, 0 when its buffer is full (EAGAIN).
     */
    public int trySend(byte[] payload, int offset, int length) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(Math.max(1, length));
            MemorySegment.copy(payload, offset, data, JAVA_BYTE, 0, length);
            MemorySegment iov = arena.allocate(IOVEC);
            iov.set(ADDRESS, IOV_BASE, data);
            iov.set(JAVA_LONG, IOV_LEN, (long) length);
            MemorySegment msg = arena.allocate(MSGHDR);
            msg.set(ADDRESS, MSG_IOV, iov);
            msg.set(JAVA_LONG, MSG_IOVLEN, 1L);
            long n;
            do {
                n = Libc.sendmsg(fd(), msg, SocketAbi.MSG_NOSIGNAL | SocketAbi.MSG_DONTWAIT);
            } while (n == -Errno.EINTR);
            if (n == -Errno.EAGAIN) {
                return 0;
            }
            return (int) Libc.check("sendmsg(fd " + fd() + ", " + length + " bytes)", n);
        }
    }

    /**
     * One recvmsg(2): up to {@code maxPayload} bytes and up to {@code maxFds} descriptors (close-on-exec,
     * MSG_CMSG_CLOEXEC). Waits for data unless the socket is non-blocking (then EAGAIN is thrown).
     *
     * <p>If the peer sent more descriptors than {@code maxFds} (MSG_CTRUNC), the kernel has dropped the
     * excess: this throws EMSGSIZE after closing the ones that did arrive, since the message is unusable. A
     * payload longer than {@code maxPayload} is not an error on a stream socket; the rest stays queued for
     * the next call.
     */
    public ReceivedMessage receive(int maxPayload, int maxFds) throws LinuxException {
        if (maxPayload <= 0) {
            throw new IllegalArgumentException("maxPayload must be positive: " + maxPayload);
        }
        if (maxFds < 0 || maxFds > MAX_FDS) {
            throw new IllegalArgumentException("maxFds must be in [0, " + MAX_FDS + "]: " + maxFds);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(maxPayload);
            MemorySegment iov = arena.allocate(IOVEC);
            iov.set(ADDRESS, IOV_BASE, data);
            iov.set(JAVA_LONG, IOV_LEN, (long) maxPayload);
            long space = maxFds == 0 ? 0 : SocketAbi.cmsgSpace((long) Integer.BYTES * maxFds);
            MemorySegment control = space == 0 ? MemorySegment.NULL : arena.allocate(space, Long.BYTES);
            MemorySegment msg = arena.allocate(MSGHDR);
            msg.set(ADDRESS, MSG_IOV, iov);
            msg.set(JAVA_LONG, MSG_IOVLEN, 1L);
            msg.set(ADDRESS, MSG_CONTROL, control);
            msg.set(JAVA_LONG, MSG_CONTROLLEN, space);
            long n;
            do {
                n = Libc.recvmsg(fd(), msg, SocketAbi.MSG_CMSG_CLOEXEC);
            } while (n == -Errno.EINTR);
            String call = "recvmsg(fd " + fd() + ")";
            Libc.check(call, n);
            int[] fds = SocketAbi.rights(control, msg.get(JAVA_LONG, MSG_CONTROLLEN));
            int flags = msg.get(JAVA_INT, SocketAbi.MSG_FLAGS);
            if ((flags & (SocketAbi.MSG_CTRUNC | SocketAbi.MSG_TRUNC)) != 0) {
                for (int received : fds) {
                    Fds.closeQuietly(received);
                }
                String what = (flags & SocketAbi.MSG_CTRUNC) != 0
                        ? "control message truncated (MSG_CTRUNC): the peer sent more than " + maxFds + " descriptors"
                        : "message truncated (MSG_TRUNC): longer than " + maxPayload + " bytes";
                throw new LinuxException(call, Errno.EMSGSIZE, what);
            }
            return new ReceivedMessage(data.asSlice(0, n).toArray(JAVA_BYTE), fds);
        }
    }

    /** SO_PEERCRED: the process at the other end, as of when the connection was made. */
    public PeerCredentials peerCredentials() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ucred = arena.allocate(SocketAbi.UCRED);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) SocketAbi.UCRED.byteSize());
            Libc.check("getsockopt(fd " + fd() + ", SO_PEERCRED)",
                    Libc.getsockopt(fd(), SocketAbi.SOL_SOCKET, SocketAbi.SO_PEERCRED, ucred, length));
            return new PeerCredentials(ucred.get(JAVA_INT, SocketAbi.UCRED_PID),
                    ucred.get(JAVA_INT, SocketAbi.UCRED_UID), ucred.get(JAVA_INT, SocketAbi.UCRED_GID));
        }
    }

    /**
     * shutdown(2) with {@link #SHUT_RD}, {@link #SHUT_WR} or {@link #SHUT_RDWR}. On a listening socket,
     * SHUT_RDWR wakes threads blocked in {@link #accept}.
     */
    public void shutdown(int how) throws LinuxException {
        Libc.check("shutdown(fd " + fd() + ", " + how + ")", Libc.shutdown(fd(), how));
    }

    /** Closes the socket once. It does not remove a listener's path from the file system. */
    @Override
    public void close() throws LinuxException {
        int old = fd.getAndSet(-1);
        if (old >= 0) {
            Fds.close(old);
        }
    }

    private void closeQuietly() {
        Fds.closeQuietly(fd.getAndSet(-1));
    }

    @Override
    public String toString() {
        return "UnixSocket[fd=" + fd() + "]";
    }
}
