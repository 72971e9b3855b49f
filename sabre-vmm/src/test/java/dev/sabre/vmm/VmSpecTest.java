package dev.sabre.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The huge-page setting of a VM spec: carried through every copy, and a memory size it cannot hold refused. */
class VmSpecTest {
    private static final GuestImage IMAGE = new GuestImage("fibonacci", Path.of("k"), Path.of("i"), Path.of("r"), "id");

    @Test
    void hugePagesSurviveEveryCopyAndSayWhatTheHostMustHold() {
        VmSpec spec = VmSpec.of(IMAGE).withHugePages(true).withMemoryMiB(256).withReadyTimeout(java.time.Duration.ofSeconds(5))
                .withAccelerator(Accelerator.TCG).withImage(IMAGE);
        assertEquals(2 << 20, spec.pageSize());
        assertEquals(128, spec.hugePagesNeeded());
        VmSpec small = spec.withHugePages(false);
        assertFalse(small.hugePages());
        assertEquals(4096, small.pageSize());
        assertEquals(0, small.hugePagesNeeded());
        assertFalse(new VmSpec(IMAGE, 64, 1, VmSpec.DEFAULT_READY_TIMEOUT, null).hugePages());
    }

    @Test
    void memoryThatIsNotWholeHugePagesIsRefused() {
        VmmException e = assertThrows(VmmException.class, () -> VmSpec.of(IMAGE).withMemoryMiB(129).withHugePages(true));
        assertEquals("guest memory on 2 MiB huge pages must be a multiple of 2 MiB, not 129 MiB", e.getMessage());
        assertEquals(129, VmSpec.of(IMAGE).withMemoryMiB(129).memoryMiB()); // fine on 4 KiB pages
    }
}
