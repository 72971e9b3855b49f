package dev.sabre.restore;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.Packer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The real shared snapshot, packed once per build into target/ with the options a test asks for. */
final class TestSnapshots {
    static final String DATASET = "python-json-512m";

    private TestSnapshots() {}

    static Path memory() throws IOException {
        return Datasets.memoryFile(DATASET);
    }

    /** A pack left by an older build may no longer open (the format is still evolving): then pack again. */
    private static boolean isReadable(Path snapshot) {
        if (!Files.exists(snapshot)) {
            return false;
        }
        try (dev.sabre.format.SnapshotReader ignored = dev.sabre.format.SnapshotReader.open(snapshot)) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    static synchronized Path packed(CodecId codec, PackPolicy policy, int framePages) throws IOException {
        Path dir = Path.of("target", "test-snapshots");
        Files.createDirectories(dir);
        Path out = dir.resolve(DATASET + "-" + codec.label() + "-" + policy.label() + "-" + framePages + ".sabre");
        if (!isReadable(out)) {
            try (MemoryImage image = MemoryImage.open(memory(), 4096, null)) {
                Packer.pack(image, out, PackOptions.defaults().withCodec(codec, codec == CodecId.NONE ? 0 : 1)
                        .withPolicy(policy, framePages), null);
            }
        }
        return out;
    }
}
