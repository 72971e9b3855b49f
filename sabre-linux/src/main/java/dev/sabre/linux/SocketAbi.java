package dev.sabre.linux;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.IntStream;

/**
 * The socket ABI of x86_64 Linux ({@code <sys/socket.h>}, {@code <sys/un.h>}): layouts of sockaddr_un,
 * iovec, msghdr, cmsghdr and ucred, the CMSG_* arithmetic, and the constants {@link UnixSocket} needs.
 */
final class SocketAbi {
    private SocketAbi() {}

    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_NONBLOCK = 04000;
    static final int SOCK_CLOEXEC = 02000000;
    static final int SOL_SOCKET = 1;
    static final int SO_PEERCRED = 17;
    /** Linux 6.5+: a pidfd of the peer as of connect time. */
    static final int SO_PEERPIDFD = 77;
    static final int SCM_RIGHTS = 1;
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_TRUNC = 0x20;
    static final int MSG_DONTWAIT = 0x40;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** The kernel's limit on descriptors in one SCM_RIGHTS message (SCM_MAX_FD). */
    static final int SCM_MAX_FD = 253;

    static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"), MemoryLayout.sequenceLayout(108, JAVA_BYTE).withName("sun_path"));
    static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"), JAVA_LONG.withName("iov_len"));
    static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"), JAVA_INT.withName("msg_namelen"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"), JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"), JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"), MemoryLayout.paddingLayout(4));
    static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"), JAVA_INT.withName("cmsg_level"), JAVA_INT.withName("cmsg_type"));
    static final StructLayout UCRED = MemoryLayout.structLayout(
            JAVA_INT.withName("pid"), JAVA_INT.withName("uid"), JAVA_INT.withName("gid"));

    static final long SUN_PATH = offset(SOCKADDR_UN, "sun_path");
    static final long SUN_PATH_SIZE = 108;
    static final long IOV_BASE = offset(IOVEC, "iov_base");
    static final long IOV_LEN = offset(IOVEC, "iov_len");
    static final long MSG_IOV = offset(MSGHDR, "msg_iov");
    static final long MSG_IOVLEN = offset(MSGHDR, "msg_iovlen");
    static final long MSG_CONTROL = offset(MSGHDR, "msg_control");
    static final long MSG_CONTROLLEN = offset(MSGHDR, "msg_controllen");
    static final long MSG_FLAGS = offset(MSGHDR, "msg_flags");
    static final long CMSG_LEN_FIELD = offset(CMSGHDR, "cmsg_len");
    static final long CMSG_LEVEL = offset(CMSGHDR, "cmsg_level");
    static final long CMSG_TYPE = offset(CMSGHDR, "cmsg_type");
    static final long UCRED_PID = offset(UCRED, "pid");
    static final long UCRED_UID = offset(UCRED, "uid");
    static final long UCRED_GID = offset(UCRED, "gid");

    /** CMSG_ALIGN: control messages are padded to the alignment of size_t. */
    static long cmsgAlign(long length) {
        return (length + Long.BYTES - 1) & -Long.BYTES;
    }

    /** CMSG_LEN: the header plus {@code dataLength} bytes, the value of cmsg_len. */
    static long cmsgLen(long dataLength) {
        return cmsgAlign(CMSGHDR.byteSize()) + dataLength;
    }

    /** CMSG_SPACE: the room one message with {@code dataLength} bytes takes in the control buffer. */
    static long cmsgSpace(long dataLength) {
        return cmsgAlign(CMSGHDR.byteSize()) + cmsgAlign(dataLength);
    }

    /** Offset of the data in a control message (CMSG_DATA). */
    static long cmsgData() {
        return cmsgAlign(CMSGHDR.byteSize());
    }

    /**
     * Fills {@code address} (a SOCKADDR_UN) for a path name.
     *
     * @return the address length to pass to bind or connect
     */
    static int unixAddress(MemorySegment address, Path path, String call) throws LinuxException {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length >= SUN_PATH_SIZE) {
            throw new LinuxException(call + "(" + path + ")", Errno.ENAMETOOLONG,
                    "socket path is " + bytes.length + " bytes, the limit is " + (SUN_PATH_SIZE - 1));
        }
        for (byte b : bytes) {
            if (b == 0) {
                throw new IllegalArgumentException("socket path contains a NUL byte: " + path);
            }
        }
        address.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, address, JAVA_BYTE, SUN_PATH, bytes.length);
        address.set(JAVA_BYTE, SUN_PATH + bytes.length, (byte) 0);
        return (int) (SUN_PATH + bytes.length + 1);
    }

    /** Writes one SCM_RIGHTS message carrying {@code fds} at the start of {@code control}. */
    static void putRights(MemorySegment control, int[] fds) {
        control.set(JAVA_LONG, CMSG_LEN_FIELD, cmsgLen((long) Integer.BYTES * fds.length));
        control.set(JAVA_INT, CMSG_LEVEL, SOL_SOCKET);
        control.set(JAVA_INT, CMSG_TYPE, SCM_RIGHTS);
        MemorySegment.copy(fds, 0, control, JAVA_INT, cmsgData(), fds.length);
    }

    /**
     * The descriptors of every SCM_RIGHTS message in the first {@code length} bytes of {@code control},
     * walking the messages as CMSG_FIRSTHDR / CMSG_NXTHDR do; other message types are skipped.
     */
    static int[] rights(MemorySegment control, long length) {
        IntStream.Builder fds = IntStream.builder();
        long offset = 0;
        while (offset + CMSGHDR.byteSize() <= length) {
            long cmsgLen = control.get(JAVA_LONG, offset + CMSG_LEN_FIELD);
            if (cmsgLen < cmsgLen(0) || offset + cmsgLen > length) {
                break; // malformed or cut short: CMSG_NXTHDR would stop here too
            }
            if (control.get(JAVA_INT, offset + CMSG_LEVEL) == SOL_SOCKET
                    && control.get(JAVA_INT, offset + CMSG_TYPE) == SCM_RIGHTS) {
                long count = (cmsgLen - cmsgLen(0)) / Integer.BYTES;
                for (long i = 0; i < count; i++) {
                    fds.add(control.get(JAVA_INT, offset + cmsgData() + i * Integer.BYTES));
                }
            }
            offset += cmsgAlign(cmsgLen);
        }
        return fds.build().toArray();
    }

    private static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }
}
