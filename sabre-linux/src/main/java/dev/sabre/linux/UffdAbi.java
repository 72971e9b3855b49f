package dev.sabre.linux;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * The userfaultfd ABI of {@code <linux/userfaultfd.h>}: struct layouts, ioctl request numbers, and the
 * decoding of {@code struct uffd_msg}. Kept apart from {@link Userfaultfd} so the numbers can be checked
 * against the C header in one place.
 */
final class UffdAbi {
    private UffdAbi() {}

    static final long SYS_USERFAULTFD = 323; // x86_64
    static final long UFFD_API = 0xAA;
    static final int UFFD_USER_MODE_ONLY = 1;

    static final StructLayout RANGE = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"), JAVA_LONG.withName("len"));
    static final StructLayout API = MemoryLayout.structLayout(
            JAVA_LONG.withName("api"), JAVA_LONG.withName("features"), JAVA_LONG.withName("ioctls"));
    static final StructLayout REGISTER = MemoryLayout.structLayout(
            RANGE.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("ioctls"));
    static final StructLayout COPY = MemoryLayout.structLayout(
            JAVA_LONG.withName("dst"), JAVA_LONG.withName("src"), JAVA_LONG.withName("len"),
            JAVA_LONG.withName("mode"), JAVA_LONG.withName("copy"));
    static final StructLayout ZEROPAGE = MemoryLayout.structLayout(
            RANGE.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("zeropage"));
    static final StructLayout WRITEPROTECT = MemoryLayout.structLayout(
            RANGE.withName("range"), JAVA_LONG.withName("mode"));
    static final StructLayout CONTINUE = MemoryLayout.structLayout(
            RANGE.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("mapped"));
    /** {@code struct uffd_msg}: packed in C, but every field happens to sit at its natural alignment. */
    static final StructLayout MSG = MemoryLayout.structLayout(
            JAVA_BYTE.withName("event"), JAVA_BYTE.withName("reserved1"), JAVA_SHORT.withName("reserved2"),
            JAVA_INT.withName("reserved3"), MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("arg"));

    static final long API_API = offset(API, "api");
    static final long API_FEATURES = offset(API, "features");
    static final long API_IOCTLS = offset(API, "ioctls");
    static final long RANGE_START = offset(RANGE, "start");
    static final long RANGE_LEN = offset(RANGE, "len");
    static final long REGISTER_MODE = offset(REGISTER, "mode");
    static final long REGISTER_IOCTLS = offset(REGISTER, "ioctls");
    static final long COPY_DST = offset(COPY, "dst");
    static final long COPY_SRC = offset(COPY, "src");
    static final long COPY_LEN = offset(COPY, "len");
    static final long COPY_MODE = offset(COPY, "mode");
    static final long COPY_COPY = offset(COPY, "copy");
    static final long ZEROPAGE_MODE = offset(ZEROPAGE, "mode");
    static final long ZEROPAGE_ZEROPAGE = offset(ZEROPAGE, "zeropage");
    static final long WRITEPROTECT_MODE = offset(WRITEPROTECT, "mode");
    static final long CONTINUE_MODE = offset(CONTINUE, "mode");
    static final long CONTINUE_MAPPED = offset(CONTINUE, "mapped");
    static final long MSG_ARG = offset(MSG, "arg");

    // Request numbers are built the way <asm-generic/ioctl.h> builds them, from the struct sizes above.
    private static final int UFFDIO = 0xAA;
    static final long USERFAULTFD_IOC_NEW = io(UFFDIO, 0x00);
    static final long UFFDIO_REGISTER = iowr(UFFDIO, 0x00, REGISTER.byteSize());
    static final long UFFDIO_UNREGISTER = ior(UFFDIO, 0x01, RANGE.byteSize());
    static final long UFFDIO_WAKE = ior(UFFDIO, 0x02, RANGE.byteSize());
    static final long UFFDIO_COPY = iowr(UFFDIO, 0x03, COPY.byteSize());
    static final long UFFDIO_ZEROPAGE = iowr(UFFDIO, 0x04, ZEROPAGE.byteSize());
    static final long UFFDIO_WRITEPROTECT = iowr(UFFDIO, 0x06, WRITEPROTECT.byteSize());
    static final long UFFDIO_CONTINUE = iowr(UFFDIO, 0x07, CONTINUE.byteSize());
    static final long UFFDIO_API = iowr(UFFDIO, 0x3F, API.byteSize());

    static final int UFFD_EVENT_PAGEFAULT = 0x12;
    static final int UFFD_EVENT_FORK = 0x13;
    static final int UFFD_EVENT_REMAP = 0x14;
    static final int UFFD_EVENT_REMOVE = 0x15;
    static final int UFFD_EVENT_UNMAP = 0x16;

    private static final int IOC_NONE = 0;
    private static final int IOC_WRITE = 1;
    private static final int IOC_READ = 2;

    static long ioc(int dir, int type, int nr, long size) {
        if (size < 0 || size >= 1 << 14) {
            throw new IllegalArgumentException("ioctl argument size " + size + " does not fit in 14 bits");
        }
        return ((long) dir << 30) | (size << 16) | ((long) type << 8) | nr;
    }

    static long io(int type, int nr) {
        return ioc(IOC_NONE, type, nr, 0);
    }

    static long ior(int type, int nr, long size) {
        return ioc(IOC_READ, type, nr, size);
    }

    static long iowr(int type, int nr, long size) {
        return ioc(IOC_READ | IOC_WRITE, type, nr, size);
    }

    /** Decodes one 32-byte {@code struct uffd_msg}. */
    static UffdEvent decode(MemorySegment msg) {
        int type = Byte.toUnsignedInt(msg.get(JAVA_BYTE, 0));
        long a0 = msg.get(JAVA_LONG, MSG_ARG);
        long a1 = msg.get(JAVA_LONG, MSG_ARG + 8);
        long a2 = msg.get(JAVA_LONG, MSG_ARG + 16);
        return switch (type) {
            // pagefault: flags, address, feat.ptid (a u32 at the start of the third word)
            case UFFD_EVENT_PAGEFAULT -> new UffdEvent.PageFault(a1, a0, msg.get(JAVA_INT, MSG_ARG + 16));
            case UFFD_EVENT_FORK -> new UffdEvent.Fork(msg.get(JAVA_INT, MSG_ARG));
            case UFFD_EVENT_REMAP -> new UffdEvent.Remap(a0, a1, a2);
            case UFFD_EVENT_REMOVE -> new UffdEvent.Remove(a0, a1);
            case UFFD_EVENT_UNMAP -> new UffdEvent.Unmap(a0, a1);
            default -> new UffdEvent.Unknown(type);
        };
    }

    private static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }
}
