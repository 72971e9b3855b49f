package dev.sabre.format;

import dev.sabre.codec.CodecId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;

/** {@link SnapshotFormatTestCase} for every codec, and zstd once more on a slice of real guest memory. */
class SnapshotFormatTests {
    @Nested
    class Zstd extends SnapshotFormatTestCase {
        Zstd() {
            super(CodecId.ZSTD);
        }
    }

    @Nested
    class Lz4 extends SnapshotFormatTestCase {
        Lz4() {
            super(CodecId.LZ4);
        }
    }

    @Nested
    class Deflate extends SnapshotFormatTestCase {
        Deflate() {
            super(CodecId.DEFLATE);
        }
    }

    @Nested
    class None extends SnapshotFormatTestCase {
        None() {
            super(CodecId.NONE);
        }
    }

    /** The first pages of the shared python-json-512m memory (needs ../shared/datasets). */
    @Nested
    class RealMemoryZstd extends SnapshotFormatTestCase {
        RealMemoryZstd() {
            super(CodecId.ZSTD);
        }

        @Override
        Path writeMemory(Path file) throws IOException {
            // From page 1,000 on: the first pages of a guest are mostly zero, these are kernel text and data.
            try (InputStream in = Files.newInputStream(Datasets.memoryFile("python-json-512m"))) {
                in.skipNBytes(1000L * PAGE);
                Files.write(file, in.readNBytes(PAGES * PAGE));
            }
            return file;
        }
    }
}
