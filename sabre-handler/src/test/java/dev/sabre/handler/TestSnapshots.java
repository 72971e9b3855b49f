package dev.sabre.handler;

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

    static long pageCount() throws IOException {
        return Files.size(memory()) / 4096;
    }

    /** The snapshot packed in 2 MiB pages (zstd, one page a frame), as `sabre pack --page-size 2M` writes it. */
    static synchronized Path packedInHugePages() throws IOException {
        Path dir = Path.of("target", "test-snapshots");
        Files.createDirectories(dir);
        Path out = dir.resolve(DATASET + "-zstd-1-2m-pages.sabre");
        if (!Files.exists(out)) {
            Path temp = dir.resolve(out.getFileName() + ".tmp");
            PackOptions options = PackOptions.defaults().withCodec(CodecId.ZSTD, 1).withPolicy(PackPolicy.PAGE, 1);
            try (MemoryImage image = MemoryImage.open(memory(), 2 << 20, null)) {
                Packer.pack(image, temp, options, null);
            }
            Files.move(temp, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return out;
    }

    static Path packed(CodecId codec, PackPolicy policy, int framePages) throws IOException {
        PackOptions options = PackOptions.defaults().withCodec(codec, codec == CodecId.NONE ? 0 : 1).withPolicy(policy, framePages);
        return Datasets.packed(DATASET, options, Path.of("target", "test-snapshots"));
    }
}
