package dev.sabre.firecracker;

import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every snapshot type of the original is found by its name and maps onto one of our strategies. */
class OriginalSnapshotTypeTest {
    @Test
    void everyOriginalNameIsKnown() {
        List<String> names = List.of("Full", "Diff", "FullCompressed", "DiffCompressed", "REAPRecord", "REAPReplay",
                "REAPRecordCompress", "REAPReplayCompress");
        assertEquals(names, Arrays.stream(OriginalSnapshotType.values()).map(OriginalSnapshotType::originalName).toList());
        for (String n : names) {
            assertEquals(n, OriginalSnapshotType.of(n.toLowerCase()).originalName());
        }
    }

    @Test
    void theMappingIsTheDocumentedOne() {
        assertEquals("file", OriginalSnapshotType.of("Full").strategyName());
        assertFalse(OriginalSnapshotType.of("Diff").usesHandler());
        assertEquals(SnapshotKind.DIFF, OriginalSnapshotType.of("DiffCompressed").kind());
        assertEquals("sabre", OriginalSnapshotType.of("DiffCompressed").strategyName());
        assertEquals("sabre", OriginalSnapshotType.of("FullCompressed").strategyName());
        assertEquals("reap-record", OriginalSnapshotType.of("REAPRecord").strategyName());
        assertEquals("reap-record", OriginalSnapshotType.of("REAPRecordCompress").strategyName());
        assertEquals("reap", OriginalSnapshotType.of("REAPReplay").strategyName());
        assertEquals("reap-compressed", OriginalSnapshotType.of("REAPReplayCompress").strategyName());
        assertTrue(OriginalSnapshotType.of("REAPRecord").usesHandler());
    }

    @Test
    void anUnknownNameListsTheKnownOnes() {
        VmmException e = assertThrows(VmmException.class, () -> OriginalSnapshotType.of("Lazy"));
        assertEquals("unknown snapshot type 'Lazy'; known: Full, Diff, FullCompressed, DiffCompressed, REAPRecord, REAPReplay, "
                + "REAPRecordCompress, REAPReplayCompress", e.getMessage());
    }
}
