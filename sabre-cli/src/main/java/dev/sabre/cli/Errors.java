package dev.sabre.cli;

import dev.sabre.format.CorruptSnapshotException;
import java.io.FileNotFoundException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/** Turns exceptions into the one-line messages and exit codes the command line promises. */
public final class Errors {
    /** Exit code of a corrupt or unreadable snapshot (as opposed to bad usage or an I/O failure). */
    public static final int CORRUPT = 3;
    public static final int FAILED = 1;

    private Errors() {
    }

    public static String describe(Throwable e) {
        return switch (e) {
            case NoSuchFileException n -> "no such file: " + n.getFile();
            case AccessDeniedException a -> "permission denied: " + a.getFile();
            case FileAlreadyExistsException f -> "already exists: " + f.getFile();
            case FileNotFoundException f -> "file not found: " + f.getMessage();
            default -> {
                String message = e.getMessage();
                if (message == null || message.isBlank()) {
                    message = e.getClass().getSimpleName();
                }
                yield message.lines().findFirst().orElse(message);
            }
        };
    }

    public static int exitCode(Throwable e) {
        return e instanceof CorruptSnapshotException ? CORRUPT : FAILED;
    }
}
