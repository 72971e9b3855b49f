package dev.sabre.handler;

import dev.sabre.codec.CodecId;
import dev.sabre.format.Datasets;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PackPolicy;
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

    static long pageCount() throws IOException {
        return Files.size(memory()) / 4096;
    }

    static Path packed(CodecId codec, PackPolicy policy, int framePages) throws IOException {
        PackOptions options = PackOptions.defaults().withCodec(codec, codec == CodecId.NONE ? 0 : 1).withPolicy(policy, framePages);
        return Datasets.packed(DATASET, options, Path.of("target", "test-snapshots"));
    }
}
