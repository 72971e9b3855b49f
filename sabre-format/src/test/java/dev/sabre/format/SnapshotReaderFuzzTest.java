package dev.sabre.format;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Coverage-guided fuzzing of the reader with Jazzer. Under plain `mvn test` it replays the seed corpus
 * (src/test/resources/.../SnapshotReaderFuzzTestInputs) and any findings; with JAZZER_FUZZ=1 it
 * explores for the given time. Mutants of a real snapshot with fixed-up checksums get past the CRC
 * gates, so the structural checks are fuzzed too. The only acceptable failure is a
 * {@link CorruptSnapshotException}; anything else (a crash, another exception, a hang) is a finding.
 */
class SnapshotReaderFuzzTest {
    private static final Path FILE = tempFile();

    private static Path tempFile() {
        try {
            Path file = Files.createTempFile("fuzz", ".sabre");
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void readerRejectsOrReadsAnyInput(byte[] input) throws IOException {
        check(input);
        // Also with valid checksums, so mutations reach the structural checks behind them.
        if (input.length >= SnapshotFormat.HEADER_SIZE + SnapshotFormat.FOOTER_SIZE) {
            Files.write(FILE, input);
            try {
                check(new SnapshotSurgeonBytes(input).fixed());
            } catch (RuntimeException layoutTooBroken) {
                // The surgeon itself could not make sense of the offsets: nothing more to try.
                if (!(layoutTooBroken instanceof IndexOutOfBoundsException || layoutTooBroken instanceof IllegalArgumentException)) {
                    throw layoutTooBroken;
                }
            }
        }
    }

    private static void check(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        try (SnapshotReader reader = SnapshotReader.open(FILE)) {
            reader.checkAllFrames();
            reader.stats();
            List<Extent> extents = reader.extents();
            java.lang.foreign.MemorySegment page = java.lang.foreign.Arena.ofAuto().allocate(reader.header().pageSize());
            for (int i = 0; i < Math.min(8, extents.size()); i++) {
                reader.readPage(extents.get(i).firstPage(), page);
            }
        } catch (CorruptSnapshotException expected) {
            // The reader recognised the damage: that is the contract.
        }
    }

    /** Recomputes header, metadata and footer checksums of raw bytes, trusting the (possibly mutated) offsets. */
    private record SnapshotSurgeonBytes(byte[] input) {
        byte[] fixed() throws IOException {
            Path copy = Files.createTempFile("fuzz-fix", ".sabre");
            try {
                Files.write(copy, input);
                SnapshotSurgeon surgeon = new SnapshotSurgeon(copy);
                return surgeon.fixChecksums().bytes.array();
            } finally {
                Files.deleteIfExists(copy);
            }
        }
    }
}
