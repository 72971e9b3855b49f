package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Struct sizes, field offsets and ioctl numbers, checked against values printed by a C program compiled
 * with the kernel's and glibc's headers on x86_64 (sizeof, offsetof, the _IOWR macros, CMSG_LEN/SPACE).
 */
class AbiTest {

    @Test
    void userfaultfdStructsHaveTheKernelsSizes() {
        assertEquals(32, UffdAbi.MSG.byteSize(), "struct uffd_msg");
        assertEquals(24, UffdAbi.API.byteSize(), "struct uffdio_api");
        assertEquals(16, UffdAbi.RANGE.byteSize(), "struct uffdio_range");
        assertEquals(32, UffdAbi.REGISTER.byteSize(), "struct uffdio_register");
        assertEquals(40, UffdAbi.COPY.byteSize(), "struct uffdio_copy");
        assertEquals(32, UffdAbi.ZEROPAGE.byteSize(), "struct uffdio_zeropage");
        assertEquals(24, UffdAbi.WRITEPROTECT.byteSize(), "struct uffdio_writeprotect");
        assertEquals(32, UffdAbi.CONTINUE.byteSize(), "struct uffdio_continue");
        assertEquals(32, UffdAbi.COPY_COPY);
        assertEquals(24, UffdAbi.ZEROPAGE_ZEROPAGE);
        assertEquals(24, UffdAbi.CONTINUE_MAPPED);
        assertEquals(24, UffdAbi.REGISTER_IOCTLS);
        assertEquals(8, UffdAbi.MSG_ARG);
    }

    @Test
    void ioctlNumbersMatchTheCHeader() {
        assertEquals(0xc018aa3fL, UffdAbi.UFFDIO_API);
        assertEquals(0xc020aa00L, UffdAbi.UFFDIO_REGISTER);
        assertEquals(0x8010aa01L, UffdAbi.UFFDIO_UNREGISTER);
        assertEquals(0x8010aa02L, UffdAbi.UFFDIO_WAKE);
        assertEquals(0xc028aa03L, UffdAbi.UFFDIO_COPY);
        assertEquals(0xc020aa04L, UffdAbi.UFFDIO_ZEROPAGE);
        assertEquals(0xc018aa06L, UffdAbi.UFFDIO_WRITEPROTECT);
        assertEquals(0xc020aa07L, UffdAbi.UFFDIO_CONTINUE);
        assertEquals(0xaa00L, UffdAbi.USERFAULTFD_IOC_NEW);
    }

    @Test
    void socketStructsAndCmsgArithmeticMatchGlibc() {
        assertEquals(110, SocketAbi.SOCKADDR_UN.byteSize());
        assertEquals(2, SocketAbi.SUN_PATH);
        assertEquals(16, SocketAbi.IOVEC.byteSize());
        assertEquals(56, SocketAbi.MSGHDR.byteSize());
        assertEquals(16, SocketAbi.MSG_IOV);
        assertEquals(24, SocketAbi.MSG_IOVLEN);
        assertEquals(32, SocketAbi.MSG_CONTROL);
        assertEquals(40, SocketAbi.MSG_CONTROLLEN);
        assertEquals(48, SocketAbi.MSG_FLAGS);
        assertEquals(16, SocketAbi.CMSGHDR.byteSize());
        assertEquals(12, SocketAbi.UCRED.byteSize());
        assertEquals(20, SocketAbi.cmsgLen(4));
        assertEquals(24, SocketAbi.cmsgSpace(4));
        assertEquals(28, SocketAbi.cmsgLen(12));
        assertEquals(32, SocketAbi.cmsgSpace(12));
        assertEquals(16, SocketAbi.cmsgSpace(0));
    }

    @Test
    void otherStructsMatchGlibc() {
        assertEquals(144, FileIo.STAT.byteSize(), "struct stat");
        assertEquals(48, FileIo.STAT_SIZE, "offsetof(struct stat, st_size)");
        assertEquals(8, PollSet.POLLFD.byteSize(), "struct pollfd");
    }

    @Test
    void controlMessagesRoundTripThroughTheParser() {
        try (Arena arena = Arena.ofConfined()) {
            // Two SCM_RIGHTS messages with an unrelated message between them, laid out as CMSG_NXTHDR walks.
            long first = SocketAbi.cmsgSpace(4 * 3);
            long other = SocketAbi.cmsgSpace(12);
            long second = SocketAbi.cmsgSpace(4);
            MemorySegment control = arena.allocate(first + other + second, 8);
            SocketAbi.putRights(control, new int[] {5, 6, 7});
            MemorySegment unrelated = control.asSlice(first);
            unrelated.set(JAVA_LONG, 0, SocketAbi.cmsgLen(12));
            unrelated.set(JAVA_INT, 8, SocketAbi.SOL_SOCKET);
            unrelated.set(JAVA_INT, 12, 2); // SCM_CREDENTIALS
            SocketAbi.putRights(control.asSlice(first + other), new int[] {9});
            assertArrayEquals(new int[] {5, 6, 7, 9}, SocketAbi.rights(control, control.byteSize()));
            // A length that cuts the last message short drops it, as the kernel's macros would.
            assertArrayEquals(new int[] {5, 6, 7}, SocketAbi.rights(control, first + other + 8));
            assertArrayEquals(new int[0], SocketAbi.rights(MemorySegment.NULL, 0));
        }
    }

    @Test
    void everyUffdMessageTypeDecodes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment msg = arena.allocate(UffdAbi.MSG);
            msg.set(JAVA_BYTE, 0, (byte) 0x12);
            msg.set(JAVA_LONG, 8, UffdEvent.PageFault.UFFD_PAGEFAULT_FLAG_WRITE); // flags
            msg.set(JAVA_LONG, 16, 0x7f0000001000L); // address
            msg.set(JAVA_INT, 24, 4242); // feat.ptid
            assertEquals(new UffdEvent.PageFault(0x7f0000001000L, 1, 4242), UffdAbi.decode(msg));

            msg.fill((byte) 0);
            msg.set(JAVA_BYTE, 0, (byte) 0x13);
            msg.set(JAVA_INT, 8, 77);
            assertEquals(new UffdEvent.Fork(77), UffdAbi.decode(msg));

            msg.set(JAVA_BYTE, 0, (byte) 0x14);
            msg.set(JAVA_LONG, 8, 0x1000);
            msg.set(JAVA_LONG, 16, 0x9000);
            msg.set(JAVA_LONG, 24, 0x2000);
            assertEquals(new UffdEvent.Remap(0x1000, 0x9000, 0x2000), UffdAbi.decode(msg));

            msg.set(JAVA_BYTE, 0, (byte) 0x15);
            assertEquals(new UffdEvent.Remove(0x1000, 0x9000), UffdAbi.decode(msg));

            msg.set(JAVA_BYTE, 0, (byte) 0x16);
            assertEquals(new UffdEvent.Unmap(0x1000, 0x9000), UffdAbi.decode(msg));

            msg.set(JAVA_BYTE, 0, (byte) 0xF0);
            assertEquals(new UffdEvent.Unknown(0xF0), UffdAbi.decode(msg));
        }
    }
}
