package dev.sabre.restore;

/**
 * One contiguous piece of guest memory as a VMM maps it: {@code size} bytes at {@code hostAddress} in the
 * VMM's address space hold bytes {@code fileOffset ..} of the memory file (Firecracker's
 * {@code base_host_virt_addr}, {@code size}, {@code offset}).
 */
public record GuestRegion(long hostAddress, long size, long fileOffset) {
    public long hostEnd() {
        return hostAddress + size;
    }

    public long fileEnd() {
        return fileOffset + size;
    }
}
