package dev.sabre.format;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A snapshot file that is not a valid .sabre file: wrong magic, unsupported version, a bad checksum,
 * a truncated section, or a field whose value is impossible. The message names the file and the field
 * or offset at fault, so it can be shown to a user as one line.
 */
public class CorruptSnapshotException extends IOException {
    public CorruptSnapshotException(Path file, String what) {
        super(file + ": " + what);
    }

    public CorruptSnapshotException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
    }
}
