package dev.sabre.handler;

import dev.sabre.linux.HugePages;
import dev.sabre.linux.Memory;
import dev.sabre.restore.GuestRegion;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The guest memory a VMM describes in its handshake (Firecracker's UFFD handshake, docs/handler.md): a JSON array of
 * {@code {"base_host_virt_addr", "size", "offset", "page_size", "page_size_kib"}}, both page-size fields in
 * bytes. {@link #parse} accepts only regions this handler can serve exactly: all on one page size (base pages
 * or 2 MiB huge pages, whatever the snapshot's page size), aligned to it in the VMM and in the memory file,
 * inside the user address space, not overlapping in the VMM or in the memory file, and together covering
 * the snapshot's memory exactly once. Anything else is refused with a message naming the region and field.
 */
public record Handshake(List<GuestRegion> regions, int pageSize) {
    /** Firecracker sends one region per guest memory slot; hundreds would already be absurd. */
    static final int MAX_REGIONS = 1024;
    /** End of the x86-64 user address space (47 bits). */
    static final long USER_SPACE_END = 1L << 47;
    private static final String[] FIELDS = {"base_host_virt_addr", "size", "offset", "page_size", "page_size_kib"};

    /**
     * Parses and validates {@code json} against a snapshot of {@code memorySize} bytes. The regions' page size
     * (the VMM's: base pages or 2 MiB huge pages) need not be the snapshot's, whose pages are then assembled
     * into huge pages or installed several to a snapshot page; it must be one size for all regions.
     */
    public static Handshake parse(String json, long memorySize) throws HandshakeException {
        if (!(Json.parse(json) instanceof List<?> array)) {
            throw new HandshakeException("handshake is not a JSON array of memory regions");
        }
        if (array.isEmpty() || array.size() > MAX_REGIONS) {
            throw new HandshakeException("handshake has " + array.size() + " memory regions, expected 1.." + MAX_REGIONS);
        }
        List<GuestRegion> regions = new ArrayList<>(array.size());
        long pageSize = 0;
        for (int i = 0; i < array.size(); i++) {
            long[] v = fields(i, array.get(i));
            if (i == 0) {
                pageSize = pageSize(v);
                if (memorySize % pageSize != 0) {
                    throw new HandshakeException("the snapshot's memory of " + memorySize + " bytes is not a multiple of "
                            + "the regions' page_size " + pageSize);
                }
            } else if (v[3] != pageSize) {
                throw new HandshakeException("regions mix page sizes: region 0 has page_size " + pageSize + ", region " + i
                        + " has " + Long.toUnsignedString(v[3]));
            }
            regions.add(region(i, v, memorySize, pageSize));
        }
        checkDisjoint(regions, Comparator.comparingLong(GuestRegion::hostAddress), true);
        checkDisjoint(regions, Comparator.comparingLong(GuestRegion::fileOffset), false);
        long total = regions.stream().mapToLong(GuestRegion::size).sum();
        if (total != memorySize) {
            throw new HandshakeException("regions cover " + total + " bytes of the memory file but the snapshot holds "
                    + memorySize);
        }
        return new Handshake(List.copyOf(regions), (int) pageSize);
    }

    /** Whether the handshake's memory is on huge pages, larger than the host's base pages. */
    public boolean hugePages() {
        return pageSize > Memory.pageSize();
    }

    private static long[] fields(int index, Object element) throws HandshakeException {
        String where = "region " + index;
        if (!(element instanceof Map<?, ?> object)) {
            throw new HandshakeException(where + " is not a JSON object");
        }
        long[] v = new long[FIELDS.length];
        for (int f = 0; f < FIELDS.length; f++) {
            Object value = object.get(FIELDS[f]);
            if (!(value instanceof Long number)) {
                throw new HandshakeException(where + ": field " + FIELDS[f]
                        + (value == null ? " is missing" : " is not a non-negative integer"));
            }
            v[f] = number;
        }
        return v;
    }

    /** Region 0's page size: both fields hold bytes and agree, and it is a size a VMM maps memory with. */
    private static long pageSize(long[] v) throws HandshakeException {
        if (v[3] != v[4] || (v[3] != Memory.pageSize() && v[3] != HugePages.SIZE)) {
            throw new HandshakeException("region 0: page_size " + Long.toUnsignedString(v[3]) + " / page_size_kib "
                    + Long.toUnsignedString(v[4]) + ", expected " + Memory.pageSize() + " (base pages) or "
                    + HugePages.SIZE + " (2 MiB huge pages) bytes in both");
        }
        return v[3];
    }

    private static GuestRegion region(int index, long[] v, long memorySize, long pageSize) throws HandshakeException {
        String where = "region " + index;
        long base = v[0], size = v[1], offset = v[2];
        if (v[4] != v[3]) {
            throw new HandshakeException(where + ": page_size " + Long.toUnsignedString(v[3]) + " but page_size_kib "
                    + Long.toUnsignedString(v[4]) + " (both hold bytes and must agree)");
        }
        if (size <= 0 || size % pageSize != 0) {
            throw new HandshakeException(where + ": size " + Long.toUnsignedString(size) + " is not a positive multiple of "
                    + "its page_size " + pageSize);
        }
        if (base <= 0 || base >= USER_SPACE_END || size > USER_SPACE_END - base) {
            throw new HandshakeException(where + ": base_host_virt_addr 0x" + Long.toHexString(base) + " with size "
                    + Long.toUnsignedString(size) + " is not a range of user space");
        }
        if (base % pageSize != 0) {
            throw new HandshakeException(where + ": base_host_virt_addr 0x" + Long.toHexString(base) + " is not aligned "
                    + "to its page_size " + pageSize + " in the VMM's address space");
        }
        if (offset % pageSize != 0) {
            throw new HandshakeException(where + ": offset " + Long.toUnsignedString(offset) + " is not aligned to its "
                    + "page_size " + pageSize + " in the memory file");
        }
        if (offset < 0 || offset > memorySize || size > memorySize - offset) {
            throw new HandshakeException(where + ": offset " + Long.toUnsignedString(offset) + " + size " + size
                    + " lies outside the snapshot's " + memorySize + " bytes of memory");
        }
        return new GuestRegion(base, size, offset);
    }

    private static void checkDisjoint(List<GuestRegion> regions, Comparator<GuestRegion> order, boolean host)
            throws HandshakeException {
        List<GuestRegion> sorted = new ArrayList<>(regions);
        sorted.sort(order);
        for (int i = 1; i < sorted.size(); i++) {
            GuestRegion a = sorted.get(i - 1), b = sorted.get(i);
            long aEnd = host ? a.hostEnd() : a.fileEnd();
            long bStart = host ? b.hostAddress() : b.fileOffset();
            if (bStart < aEnd) {
                throw new HandshakeException("regions " + regions.indexOf(a) + " and " + regions.indexOf(b) + " overlap in the "
                        + (host ? "VMM's address space" : "memory file"));
            }
        }
    }

    /** The JSON a VMM sends for {@code regions} (what Firecracker writes), for drivers and tests. */
    public static String toJson(List<GuestRegion> regions, int pageSize) {
        StringBuilder json = new StringBuilder("[");
        for (GuestRegion r : regions) {
            if (json.length() > 1) {
                json.append(',');
            }
            json.append("{\"base_host_virt_addr\":").append(r.hostAddress()).append(",\"size\":").append(r.size())
                    .append(",\"offset\":").append(r.fileOffset()).append(",\"page_size\":").append(pageSize)
                    .append(",\"page_size_kib\":").append(pageSize).append('}');
        }
        return json.append(']').toString();
    }
}
