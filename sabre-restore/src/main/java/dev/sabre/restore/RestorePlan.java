package dev.sabre.restore;

import dev.sabre.format.Extent;
import dev.sabre.format.FrameInfo;
import dev.sabre.format.SnapshotReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * What a restore does, worked out from the snapshot's metadata before any data is read: consecutive
 * frames grouped into chunks read with one pread (or one ranged request, for a store) each, and for every chunk the guest runs to install from
 * its decoded bytes, merged so that pages contiguous both in the guest and in the buffer go in with one
 * UFFDIO_COPY. Zero extents become runs of their own, installed after the data.
 */
public final class RestorePlan {
    /**
     * A chunk decodes to at most this many bytes, or to one frame when a frame is larger. Without it a
     * chunk is bounded by stored bytes only, and frames that compress 32,000:1 would put gigabytes of
     * decoded pages behind one 256 KiB read.
     */
    public static final long MAX_CHUNK_RAW_BYTES = 8L << 20;

    /** {@code pages} guest pages from {@code firstPage} come from bytes {@code rawOffset ..} of the chunk's decoded buffer. */
    public record Run(long firstPage, long rawOffset, int pages) {}

    /** Frames {@code firstFrame ..< firstFrame + frameCount}, stored contiguously at {@code fileOffset}. */
    public record Chunk(int firstFrame, int frameCount, long fileOffset, long storedBytes, long rawBytes,
                        List<Run> runs) {}

    private final List<Chunk> chunks;
    private final List<Run> zeroRuns;
    private final int[] chunkOfFrame;
    private final long maxStored;
    private final long maxRaw;
    private final long rawBytes;

    private RestorePlan(List<Chunk> chunks, List<Run> zeroRuns, int[] chunkOfFrame) {
        this.chunks = chunks;
        this.zeroRuns = zeroRuns;
        this.chunkOfFrame = chunkOfFrame;
        this.maxStored = chunks.stream().mapToLong(Chunk::storedBytes).max().orElse(0);
        this.maxRaw = chunks.stream().mapToLong(Chunk::rawBytes).max().orElse(0);
        this.rawBytes = chunks.stream().mapToLong(Chunk::rawBytes).sum();
    }

    /**
     * A frame as a plan sees it: its stored bytes lie in object {@code object} (one file, or one pack of a
     * store) at {@code offset}, {@code storedLength} long, and decode to {@code pageCount} pages.
     */
    public record Frame(int object, long offset, long storedLength, int pageCount) {}

    /** Guest pages {@code firstPage ..} are {@code pages} pages of frame {@code frame} from slot {@code slot}. */
    public record FramePages(long firstPage, int frame, long slot, int pages) {}

    /** Plans restoring every present page of {@code reader}, frames in file order. */
    public static RestorePlan of(SnapshotReader reader, long chunkBytes) {
        List<Frame> frames = new ArrayList<>(reader.frames().size());
        for (FrameInfo f : reader.frames()) {
            frames.add(new Frame(0, f.offset(), f.storedLength(), f.pageCount()));
        }
        List<FramePages> stored = new ArrayList<>();
        List<Run> zeros = new ArrayList<>();
        for (Extent e : reader.extents()) {
            switch (e.kind()) {
                case STORED -> stored.add(new FramePages(e.firstPage(), e.frame(), e.slot(), e.pageCount()));
                case COPY -> {
                    // A copy's source can run through several frames: one run per source frame.
                    for (long done = 0; done < e.pageCount(); ) {
                        long source = e.source() + done;
                        Extent src = reader.extentOf(source);
                        int n = (int) Math.min(e.pageCount() - done, src.endPage() - source);
                        stored.add(new FramePages(e.firstPage() + done, src.frame(), src.slot() + (source - src.firstPage()), n));
                        done += n;
                    }
                }
                case ZERO -> zeros.add(new Run(e.firstPage(), 0, e.pageCount()));
                default -> { }
            }
        }
        return of(frames, java.util.stream.IntStream.range(0, frames.size()).toArray(), stored, zeros,
                reader.header().pageSize(), chunkBytes);
    }

    /**
     * Plans restoring frames {@code planned} (ascending indexes into {@code frames}) and the pages they hold:
     * consecutive frames lying back to back in one object join a chunk up to {@code chunkBytes} stored bytes
     * and {@link #MAX_CHUNK_RAW_BYTES} decoded ones. {@code stored} says which guest pages each frame holds
     * (pages of frames not planned are left out); {@code zeros} are installed as zeros.
     */
    public static RestorePlan of(List<Frame> frames, int[] planned, List<FramePages> stored, List<Run> zeros,
                                 long pageSize, long chunkBytes) {
        int[] chunkOfFrame = new int[frames.size()];
        Arrays.fill(chunkOfFrame, -1);
        long[] rawStart = new long[frames.size()];
        List<int[]> bounds = new ArrayList<>();
        int first = -1, last = -1;
        long storedBytes = 0, raw = 0;
        for (int f : planned) {
            Frame frame = frames.get(f);
            long frameRaw = frame.pageCount() * pageSize;
            boolean follows = first >= 0 && f == last + 1 && frame.object() == frames.get(last).object()
                    && frame.offset() == frames.get(last).offset() + frames.get(last).storedLength();
            if (first >= 0 && (!follows || storedBytes + frame.storedLength() > chunkBytes
                    || raw + frameRaw > MAX_CHUNK_RAW_BYTES)) {
                bounds.add(new int[] {first, last + 1});
                first = -1;
            }
            if (first < 0) {
                first = f;
                storedBytes = 0;
                raw = 0;
            }
            chunkOfFrame[f] = bounds.size();
            rawStart[f] = raw;
            storedBytes += frame.storedLength();
            raw += frameRaw;
            last = f;
        }
        if (first >= 0) {
            bounds.add(new int[] {first, last + 1});
        }
        List<List<Run>> runsByChunk = new ArrayList<>();
        for (int i = 0; i < bounds.size(); i++) {
            runsByChunk.add(new ArrayList<>());
        }
        for (FramePages p : stored) {
            if (chunkOfFrame[p.frame()] >= 0) {
                runsByChunk.get(chunkOfFrame[p.frame()]).add(new Run(p.firstPage(), rawStart[p.frame()] + p.slot() * pageSize, p.pages()));
            }
        }
        List<Chunk> chunks = new ArrayList<>(bounds.size());
        for (int c = 0; c < bounds.size(); c++) {
            int from = bounds.get(c)[0], to = bounds.get(c)[1];
            long s = 0, r = 0;
            for (int f = from; f < to; f++) {
                s += frames.get(f).storedLength();
                r += frames.get(f).pageCount() * pageSize;
            }
            chunks.add(new Chunk(from, to - from, frames.get(from).offset(), s, r, merge(runsByChunk.get(c), pageSize)));
        }
        return new RestorePlan(List.copyOf(chunks), merge(zeros, pageSize), chunkOfFrame);
    }

    /** Sorts by buffer position and joins runs contiguous both in the guest and in the buffer. */
    private static List<Run> merge(List<Run> runs, long pageSize) {
        Run[] sorted = runs.toArray(Run[]::new);
        Arrays.sort(sorted, Comparator.comparingLong(Run::rawOffset).thenComparingLong(Run::firstPage));
        List<Run> merged = new ArrayList<>(sorted.length);
        for (Run run : sorted) {
            if (!merged.isEmpty()) {
                Run last = merged.getLast();
                boolean guestNext = last.firstPage() + last.pages() == run.firstPage();
                boolean bufferNext = last.rawOffset() + last.pages() * pageSize == run.rawOffset();
                if (guestNext && bufferNext && (long) last.pages() + run.pages() <= Integer.MAX_VALUE) {
                    merged.set(merged.size() - 1, new Run(last.firstPage(), last.rawOffset(), last.pages() + run.pages()));
                    continue;
                }
            }
            merged.add(run);
        }
        return List.copyOf(merged);
    }

    public List<Chunk> chunks() {
        return chunks;
    }

    /** Zero extents (rawOffset unused), merged where adjacent. */
    public List<Run> zeroRuns() {
        return zeroRuns;
    }

    /** The chunk holding frame {@code frame}, or -1 when the plan does not restore that frame. */
    public int chunkOfFrame(int frame) {
        return frame >= 0 && frame < chunkOfFrame.length ? chunkOfFrame[frame] : -1;
    }

    public long maxStoredBytes() {
        return maxStored;
    }

    public long maxRawBytes() {
        return maxRaw;
    }

    /** Decoded bytes of all chunks: what a restore's progress counts up to. */
    public long rawBytes() {
        return rawBytes;
    }

    /** Number of UFFDIO_COPY calls the plan needs at least (one per merged run). */
    public long copyRuns() {
        return chunks.stream().mapToLong(c -> c.runs().size()).sum();
    }
}
