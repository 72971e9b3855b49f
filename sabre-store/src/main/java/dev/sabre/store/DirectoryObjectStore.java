package dev.sabre.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The store in a local directory (the embedded default): one file per key. A put writes a temporary
 * file beside the target, fsyncs it and renames it into place, so a reader or a crash never sees half
 * an object; temporary files are invisible to {@link #list}.
 */
public final class DirectoryObjectStore implements ObjectStore {
    private static final String TEMP_PREFIX = ".tmp-";

    private final Path root;

    public DirectoryObjectStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public String location() {
        return root.toString();
    }

    private Path file(String key) {
        StoreLayout.checkKey(key);
        return root.resolve(key);
    }

    @Override
    public void put(String key, byte[] data) throws IOException {
        Path target = file(key);
        Files.createDirectories(target.getParent());
        Path temp = target.resolveSibling(TEMP_PREFIX + UUID.randomUUID());
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(data);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(true);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw new StoreException(describe(key) + ": cannot write: " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] get(String key) throws IOException {
        try {
            return Files.readAllBytes(file(key));
        } catch (NoSuchFileException e) {
            throw new MissingObjectException(describe(key));
        } catch (IOException e) {
            throw new StoreException(describe(key) + ": cannot read: " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] getRange(String key, long offset, int length) throws IOException {
        try (FileChannel in = FileChannel.open(file(key), StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(length);
            while (buffer.hasRemaining()) {
                if (in.read(buffer, offset + buffer.position()) < 0) {
                    throw new CorruptObjectException(describe(key), "ends at byte %d, before the range %d..%d (truncated?)"
                            .formatted(offset + buffer.position(), offset, offset + length));
                }
            }
            return buffer.array();
        } catch (NoSuchFileException e) {
            throw new MissingObjectException(describe(key));
        } catch (StoreException e) {
            throw e;
        } catch (IOException e) {
            throw new StoreException(describe(key) + ": cannot read: " + e.getMessage(), e);
        }
    }

    @Override
    public Info head(String key) throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(file(key), BasicFileAttributes.class);
            return new Info(key, a.size(), a.lastModifiedTime().toInstant());
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    @Override
    public List<Info> list(String prefix) throws IOException {
        List<Info> found = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return found;
        }
        // Walk only the top-level folder the prefix names, not the whole store.
        int slash = prefix.indexOf('/');
        Path start = slash > 0 ? root.resolve(prefix.substring(0, slash)) : root;
        if (!Files.isDirectory(start)) {
            return found;
        }
        try (Stream<Path> files = Files.walk(start)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().startsWith(TEMP_PREFIX)) {
                    continue;
                }
                String key = root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                if (!key.startsWith(prefix)) {
                    continue;
                }
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                    if (a.isRegularFile()) {
                        found.add(new Info(key, a.size(), a.lastModifiedTime().toInstant()));
                    }
                } catch (NoSuchFileException deletedMeanwhile) {
                    // another process removed it while we listed
                }
            }
        } catch (java.io.UncheckedIOException e) {
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw new StoreException(location() + ": cannot list " + prefix + ": " + e.getCause().getMessage(), e);
            }
        }
        found.sort(java.util.Comparator.comparing(Info::key));
        return found;
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            Files.deleteIfExists(file(key));
        } catch (IOException e) {
            throw new StoreException(describe(key) + ": cannot delete: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
    }
}
