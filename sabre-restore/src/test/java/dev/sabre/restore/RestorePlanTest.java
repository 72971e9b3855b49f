package dev.sabre.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.PageKind;
import dev.sabre.format.SnapshotReader;
import java.io.IOException;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The plan covers every present page exactly once and merges contiguous pages into few copies. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class RestorePlanTest {

    @Test
    void everyPresentPageExactlyOnceInFewRuns() throws IOException {
        for (PackPolicy policy : List.of(PackPolicy.FIXED, PackPolicy.PAGE)) {
            int framePages = policy == PackPolicy.PAGE ? 1 : 16;
            try (SnapshotReader reader = SnapshotReader.open(TestSnapshots.packed(CodecId.ZSTD, policy, framePages))) {
                RestorePlan plan = RestorePlan.of(reader, 256 << 10);
                BitSet seen = new BitSet();
                for (RestorePlan.Chunk chunk : plan.chunks()) {
                    assertTrue(chunk.storedBytes() <= 256 << 10 || chunk.frameCount() == 1);
                    for (RestorePlan.Run run : chunk.runs()) {
                        assertTrue(run.rawOffset() + run.pages() * 4096L <= chunk.rawBytes());
                        mark(seen, run.firstPage(), run.pages());
                    }
                }
                for (RestorePlan.Run run : plan.zeroRuns()) {
                    mark(seen, run.firstPage(), run.pages());
                }
                for (long page = 0; page < reader.header().pageCount(); page++) {
                    assertEquals(reader.kindOf(page) != PageKind.ABSENT, seen.get((int) page), "page " + page);
                }
                long storedExtents = reader.extents().stream().filter(e -> e.kind() != PageKind.ZERO).count();
                assertTrue(plan.copyRuns() < storedExtents || storedExtents < 2,
                        policy + ": " + plan.copyRuns() + " copies for " + storedExtents + " extents");
            }
        }
    }

    @Test
    void layoutTranslatesBothWays() {
        GuestLayout layout = new GuestLayout(List.of(new GuestRegion(0x20000, 0x2000, 0x3000),
                new GuestRegion(0x10000, 0x3000, 0)));
        assertEquals(0x1000, layout.fileOffsetOf(0x11000));
        assertEquals(0x4000, layout.fileOffsetOf(0x21000));
        assertEquals(-1, layout.fileOffsetOf(0x13000));
        assertEquals(0x20000, layout.regionAtFileOffset(0x3000).hostAddress());
        assertNull(layout.regionAtFileOffset(0x5000));
    }

    private static void mark(BitSet seen, long first, int pages) {
        for (long p = first; p < first + pages; p++) {
            assertTrue(!seen.get((int) p), "page " + p + " planned twice");
            seen.set((int) p);
        }
    }
}
