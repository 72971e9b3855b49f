package dev.sabre.vmm.image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a cpio archive in the "newc" format the kernel unpacks as initramfs. Timestamps are zero and
 * inode numbers sequential, so the same inputs give the same bytes.
 */
final class CpioWriter implements AutoCloseable {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    private final OutputStream out;
    private long written;
    private int ino = 1;

    CpioWriter(OutputStream out) {
        this.out = out;
    }

    void directory(String name) throws IOException {
        entry(name, S_IFDIR | 0755, 2, 0, 0, new byte[0]);
    }

    void file(String name, int perm, byte[] data) throws IOException {
        entry(name, S_IFREG | perm, 1, 0, 0, data);
    }

    void symlink(String name, String target) throws IOException {
        entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    void charDevice(String name, int perm, int major, int minor) throws IOException {
        entry(name, S_IFCHR | perm, 1, major, minor, new byte[0]);
    }

    private void entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data)
            throws IOException {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        String header = "070701" + hex(ino++) + hex(mode) + hex(0) + hex(0) + hex(nlink) + hex(0)
                + hex(data.length) + hex(0) + hex(0) + hex(rdevMajor) + hex(rdevMinor)
                + hex(nameBytes.length) + hex(0);
        write(header.getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        pad();
        write(data);
        pad();
    }

    private static String hex(int v) {
        return String.format("%08x", v);
    }

    private void write(byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }

    @Override
    public void close() throws IOException {
        entry("TRAILER!!!", 0, 1, 0, 0, new byte[0]);
        while (written % 512 != 0) {
            out.write(0);
            written++;
        }
        out.close();
    }
}
