package dev.sabre.format;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A memory file that shrinks after it was opened (another process truncating it) makes reading its mapped
 * pages fault with SIGBUS; the pack must end with a clear error and no output, not an InternalError.
 */
class ShrinkingInputTest {
    @TempDir
    Path dir;

    @Test
    void aFileTruncatedAfterOpeningFailsThePackCleanly() throws IOException {
        Path memory = dir.resolve("memory.raw");
        byte[] bytes = new byte[64 * 4096];
        new Random(5).nextBytes(bytes);
        Files.write(memory, bytes);
        Path out = dir.resolve("out.sabre");
        try (MemoryImage image = MemoryImage.open(memory, 4096, null)) {
            try (RandomAccessFile file = new RandomAccessFile(memory.toFile(), "rw")) {
                file.setLength(8 * 4096); // pages 8.. are now past the end of the file
            }
            IOException e = assertThrows(IOException.class, () -> Packer.pack(image, out, PackOptions.defaults(), null));
            assertTrue(e.getMessage().contains("changed while it was being packed"), e.getMessage());
            assertTrue(e.getMessage().contains("it is now 32768 bytes"), e.getMessage());
        }
        assertFalse(Files.exists(out), "no output is left behind");
        try (var files = Files.list(dir)) {
            assertTrue(files.allMatch(p -> p.equals(memory)), "no temporary file is left behind");
        }
    }
}
