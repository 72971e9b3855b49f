package dev.sabre.restore;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Translates between memory-file offsets (what a snapshot describes) and the VMM's host addresses (what a
 * userfaultfd fills and reports). Regions must already be validated: page-aligned, non-overlapping.
 */
public final class GuestLayout {
    private final List<GuestRegion> byFile;
    private final List<GuestRegion> byHost;

    public GuestLayout(List<GuestRegion> regions) {
        this.byFile = new ArrayList<>(regions);
        this.byFile.sort(Comparator.comparingLong(GuestRegion::fileOffset));
        this.byHost = new ArrayList<>(regions);
        this.byHost.sort(Comparator.comparingLong(GuestRegion::hostAddress));
    }

    /** One region covering a whole mapping at {@code hostAddress}, file offset 0. */
    public static GuestLayout single(long hostAddress, long size) {
        return new GuestLayout(List.of(new GuestRegion(hostAddress, size, 0)));
    }

    public List<GuestRegion> regions() {
        return byFile;
    }

    /** The file offset of host address {@code address}, or -1 if no region holds it. */
    public long fileOffsetOf(long address) {
        GuestRegion r = find(byHost, address, true);
        return r == null ? -1 : r.fileOffset() + (address - r.hostAddress());
    }

    /** The region holding file offset {@code offset}, or null (a hole between regions). */
    public GuestRegion regionAtFileOffset(long offset) {
        return find(byFile, offset, false);
    }

    private static GuestRegion find(List<GuestRegion> sorted, long key, boolean host) {
        int lo = 0, hi = sorted.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            GuestRegion r = sorted.get(mid);
            long start = host ? r.hostAddress() : r.fileOffset();
            if (key < start) {
                hi = mid - 1;
            } else if (key - start >= r.size()) {
                lo = mid + 1;
            } else {
                return r;
            }
        }
        return null;
    }
}
