package dev.sabre.vmm.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The two facts the builder needs from ELF files: is it ELF, and is it statically linked. */
final class Elf {
    private static final int PT_INTERP = 3;

    private Elf() {
    }

    static boolean isElf(byte[] b) {
        return b.length > 64 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
    }

    /** True for a 64-bit ELF file without a PT_INTERP program header. */
    static boolean isStatic(byte[] b) {
        if (!isElf(b) || b[4] != 2) {
            return false;
        }
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = buf.getLong(32);
        int phentsize = Short.toUnsignedInt(buf.getShort(54));
        int phnum = Short.toUnsignedInt(buf.getShort(56));
        for (int i = 0; i < phnum; i++) {
            long at = phoff + (long) i * phentsize;
            if (at + 4 > b.length) {
                return false;
            }
            if (buf.getInt((int) at) == PT_INTERP) {
                return false;
            }
        }
        return true;
    }
}
