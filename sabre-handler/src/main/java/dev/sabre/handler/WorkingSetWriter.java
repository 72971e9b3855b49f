package dev.sabre.handler;

import dev.sabre.codec.CodecId;
import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.PageRun;
import dev.sabre.format.Packer;
import dev.sabre.linux.Fds;
import dev.sabre.linux.FileIo;
import dev.sabre.restore.FileInstaller;
import dev.sabre.restore.PageSource;
import dev.sabre.restore.RawMemoryPages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a recorded working set as a .sabre snapshot holding only those pages, as {@link PackOptions#workingSet}
 * lays it out: raw in fault order (REAP), or compressed in address order. A raw memory file is packed
 * directly; pages of a .sabre source are first materialized into a sparse temporary file.
 */
final class WorkingSetWriter {
    private WorkingSetWriter() {}

    static Packer.Result write(List<PageRun> runs, PageSource source, Path memoryPath, Path out, CodecId codec, int level)
            throws IOException {
        PackOptions options = PackOptions.workingSet(runs, codec, level).withThreads(2);
        if (source instanceof RawMemoryPages) {
            try (MemoryImage image = MemoryImage.open(memoryPath, source.pageSize(), null)) {
                return Packer.pack(image, out, options, null);
            }
        }
        Path dir = out.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".pages");
        try {
            int fd = FileIo.open(temp, FileIo.O_RDWR | FileIo.O_CLOEXEC);
            try {
                FileIo.ftruncate(fd, source.memorySize());
                FileInstaller installer = new FileInstaller(fd);
                for (PageRun run : runs) {
                    for (long p = run.firstPage(); p < run.endPage(); p++) {
                        source.serve(p, installer);
                    }
                }
            } finally {
                Fds.closeQuietly(fd);
            }
            try (MemoryImage image = MemoryImage.open(temp, source.pageSize(), null)) {
                return Packer.pack(image, out, options, null);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
