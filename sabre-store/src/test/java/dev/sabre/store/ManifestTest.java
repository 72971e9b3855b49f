package dev.sabre.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.PageRun;
import dev.sabre.format.Progress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and damaged manifests (as a store could serve them if its hash check were bypassed): every rule
 * of STORE.md is checked, with an error naming the field, before anything is allocated from a count.
 */
class ManifestTest {
    @TempDir
    Path temp;
    private byte[] good;

    @BeforeEach
    void pushOne() throws Exception {
        Path memory = TestMemory.slice(temp.resolve("slice.mem"), 1024);
        try (SnapshotStore store = SnapshotStore.open(temp.resolve("store").toString(), null);
             PageInput in = PageInput.open(memory, false)) {
            Pusher.push(store, in, List.of(new PageRun(0, 64)), "s", Pusher.Options.defaults(), Progress.NONE);
            byte[] object = store.objects().get(StoreLayout.manifest(store.manifestHash("s")));
            good = Manifest.fromObject("manifests/x", object).encode();
        }
    }

    private static String decodeError(byte[] bytes) {
        return assertThrows(CorruptObjectException.class, () -> Manifest.decode("manifests/x", bytes)).getMessage();
    }

    private static void assertNamed(byte[] bytes, String expected) {
        String message = decodeError(bytes);
        assertTrue(message.contains(expected) && message.startsWith("manifests/x: "), message);
    }

    private byte[] with(int offset, int value) {
        byte[] b = good.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return b;
    }

    @Test
    void aGoodManifestRoundTrips() throws Exception {
        Manifest m = Manifest.decode("manifests/x", good);
        assertEquals(1024L * 4096, m.memorySize());
        assertTrue(Arrays.equals(good, m.encode()));
    }

    @Test
    void damageIsNamed() {
        assertNamed(with(0, 0), "wrong magic");
        assertNamed(with(8, 3), "version 3");
        assertNamed(with(12, 1000), "page_size");
        assertNamed(with(24, 77), "codec 77");
        assertNamed(with(44, Integer.MAX_VALUE), "frame count");
        assertNamed(with(48, -1), "extent count");
        assertNamed(Arrays.copyOf(good, good.length - 5), "truncated");
        assertNamed(Arrays.copyOf(good, good.length + 3), "unexpected bytes");
        int firstFrame = Manifest.HEADER_BYTES + 64 * ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(40);
        assertNamed(with(firstFrame, 99), "pack 99");
        assertNamed(with(firstFrame + 4 + 12, 1 << 20), "page count");
        assertNamed(with(firstFrame + 4 + 8, 0), "stored length");
    }

    /** A push writes the manifest compressed; a damaged compressed manifest is named, as plain ones are still read. */
    @Test
    void compressedManifestsAreCheckedBeforeTheyAreDecoded() throws Exception {
        Manifest m = Manifest.decode("manifests/x", good);
        byte[] object = m.toObject();
        assertTrue(object.length < good.length, object.length + " bytes compressed, " + good.length + " plain");
        assertTrue(Arrays.equals(good, Manifest.fromObject("manifests/x", object).encode()));
        assertTrue(Arrays.equals(good, Manifest.fromObject("manifests/x", good).encode()), "a plain manifest is still read");
        byte[] huge = object.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -1);
        assertTrue(assertThrows(CorruptObjectException.class, () -> Manifest.fromObject("manifests/x", huge)).getMessage()
                .contains("4294967295 bytes decoded"));
        byte[] shorter = object.clone();
        ByteBuffer.wrap(shorter).order(ByteOrder.LITTLE_ENDIAN).putInt(8, good.length - 1);
        assertTrue(assertThrows(CorruptObjectException.class, () -> Manifest.fromObject("manifests/x", shorter)).getMessage()
                .contains("does not decode"));
    }

    /** A disk frame (pack 0xFFFFFFFF) exists only in version 2, is raw and page-aligned, and never holds the working set. */
    @Test
    void diskFramesAreCheckedToo() {
        int firstFrame = Manifest.HEADER_BYTES + 64 * ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getInt(40);
        assertNamed(with(firstFrame, Manifest.DISK), "pack 4294967295 is not below");
        byte[] v2 = with(8, 2);
        ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN).putInt(firstFrame, Manifest.DISK);
        String message = decodeError(v2); // frame 0 is the working set's, and compressed
        assertTrue(message.contains("frame 0: a disk frame must be raw pages") || message.contains("working-set frame 0 is on the disk"), message);
    }
}
