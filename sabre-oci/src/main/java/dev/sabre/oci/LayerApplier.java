package dev.sabre.oci;

import dev.sabre.linux.FileIo;
import dev.sabre.linux.LinuxException;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies image layers (uncompressed tar streams), one after the other, to a root directory the way the
 * OCI image spec defines a layer change set: entries replace what is there, {@code .wh.NAME} deletes NAME
 * from the layers below, {@code .wh..wh..opq} hides everything the layers below put in its directory.
 * Regular files, directories, symbolic and hard links, character and block devices and FIFOs are created
 * with their mode (setuid, setgid and sticky bits included), ownership and modification time.
 *
 * <p>Nothing is written outside the root. An entry name is a path inside the root: an absolute name or one
 * with a {@code ..} component is refused. Symbolic links already in the tree are followed while finding an
 * entry's parent directory the way the guest will see them (an absolute target starts at the image root),
 * and a link that climbs out of the root is refused; an entry's own last component is never followed (an
 * existing link there is replaced, not written through). A hard link must name an existing non-directory
 * inside the root. Device nodes and ownership need root; without it they are skipped and counted.
 */
final class LayerApplier {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    private final Path root;
    private final boolean privileged;
    private final long maxBytes;
    private long bytesWritten;
    // Directories already resolved, by entry path: most entries share their parent with the one before.
    // Emptied whenever anything is deleted, since a deletion may change what a path resolves to.
    private final Map<List<String>, Path> resolvedDirectories = new HashMap<>();
    private long skippedPrivileged;

    /** Totals over every layer applied so far. */
    record Totals(long bytesWritten, long skippedPrivileged) {
    }

    /** {@code maxBytes} bounds the bytes of regular files over all layers (a small layer can inflate hugely). */
    LayerApplier(Path root, boolean privileged, long maxBytes) {
        this.root = root.toAbsolutePath().normalize();
        this.privileged = privileged;
        this.maxBytes = maxBytes;
    }

    /** True when this process may chown and mknod (it runs as root). */
    static boolean runningAsRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    Totals totals() {
        return new Totals(bytesWritten, skippedPrivileged);
    }

    /**
     * Applies one layer. {@code where} names the image and layer in errors; an error leaves the tree partly
     * changed, so callers apply into a temporary directory they delete on failure.
     */
    void apply(InputStream tar, String where) throws IOException {
        Set<Path> written = new HashSet<>();
        List<Path> directories = new ArrayList<>();
        List<FileTime> directoryTimes = new ArrayList<>();
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        TarArchiveEntry entry;
        while ((entry = nextEntry(in, where)) != null) {
            String name = entry.getName();
            String at = where + ": entry '" + printable(name) + "'";
            List<String> components = components(name, at);
            if (components.isEmpty()) {
                if (entry.isDirectory()) { // "./": the root itself
                    setMetadata(root, entry, at);
                    directories.add(root);
                    directoryTimes.add(entry.getLastModifiedTime());
                }
                continue;
            }
            String base = components.getLast();
            List<String> parentComponents = components.subList(0, components.size() - 1);
            if (base.startsWith(WHITEOUT)) {
                String hidden = base.substring(WHITEOUT.length());
                if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
                    throw new OciException(at + ": whiteout of nothing");
                }
                Path parent = resolve(parentComponents, false, at); // nothing there: nothing to hide
                if (parent != null && base.equals(OPAQUE)) {
                    hideLower(parent, written, at);
                } else if (parent != null && !hidden.startsWith(WHITEOUT)) { // other .wh..wh.*: aufs internals
                    delete(parent.resolve(hidden), at);
                }
                continue;
            }
            Path target = resolve(parentComponents, true, at).resolve(base);
            create(in, entry, target, at);
            written.add(target);
            if (entry.isDirectory()) {
                directories.add(target);
                directoryTimes.add(entry.getLastModifiedTime());
            }
        }
        // A directory's time last: creating its entries changed it.
        for (int i = directories.size() - 1; i >= 0; i--) {
            setTimes(directories.get(i), directoryTimes.get(i), directoryTimes.get(i), where);
        }
    }

    private static TarArchiveEntry nextEntry(TarArchiveInputStream in, String where) {
        try {
            return in.getNextEntry();
        } catch (IOException | RuntimeException e) {
            throw new OciException(where + ": not a valid tar stream: " + Manifests.oneLine(e.getMessage()), e);
        }
    }

    private void create(TarArchiveInputStream in, TarArchiveEntry entry, Path target, String at) throws IOException {
        BasicFileAttributes existing = attributes(target);
        if (entry.isDirectory()) {
            if (existing == null || !existing.isDirectory()) {
                if (existing != null) {
                    delete(target, at);
                }
                Files.createDirectory(target);
            }
            setMetadata(target, entry, at);
            return;
        }
        if (existing != null) {
            // A non-directory replaces whatever is there; an existing symbolic link is removed, not followed.
            delete(target, at);
        }
        if (entry.isSymbolicLink()) {
            Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
            setMetadata(target, entry, at);
        } else if (entry.isLink()) {
            List<String> components = components(entry.getLinkName(), at + ": hard link target");
            if (components.isEmpty()) {
                throw new OciException(at + ": hard link to the root directory");
            }
            Path linkParent = resolve(components.subList(0, components.size() - 1), false, at + ": hard link target");
            Path source = linkParent == null ? null : linkParent.resolve(components.getLast());
            BasicFileAttributes sourceAttributes = source == null ? null : attributes(source);
            if (sourceAttributes == null || sourceAttributes.isDirectory()) {
                throw new OciException(at + ": hard link target '" + printable(entry.getLinkName())
                        + "' is not an existing file in the image");
            }
            Files.createLink(target, source);
        } else if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
            int type = entry.isFIFO() ? FileIo.S_IFIFO : entry.isCharacterDevice() ? FileIo.S_IFCHR : FileIo.S_IFBLK;
            if (!entry.isFIFO() && !privileged) {
                skippedPrivileged++;
                return;
            }
            try {
                FileIo.mknod(target, type | (entry.getMode() & 07777), entry.getDevMajor(), entry.getDevMinor());
            } catch (LinuxException e) {
                throw new OciException(at + ": " + e.getMessage(), e);
            }
            setMetadata(target, entry, at);
        } else if (entry.isFile()) { // after the devices: isFile() is true for them too
            try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                copyBounded(in, out, at);
            }
            setMetadata(target, entry, at);
        } else {
            throw new OciException(at + ": unsupported tar entry type");
        }
    }

    private void copyBounded(InputStream in, OutputStream out, String at) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = in.read(buffer)) > 0) {
            if (bytesWritten + n > maxBytes) {
                throw new OciException(at + ": the image's files exceed the limit of " + maxBytes + " bytes");
            }
            out.write(buffer, 0, n);
            bytesWritten += n;
        }
    }

    /** Ownership first (chown clears setuid bits), then the mode, then the times; links get no mode. */
    private void setMetadata(Path path, TarArchiveEntry entry, String at) throws IOException {
        boolean link = entry.isSymbolicLink();
        if (privileged) {
            Files.setAttribute(path, "unix:gid", (int) entry.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(path, "unix:uid", (int) entry.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
        } else if (entry.getLongUserId() != 0 || entry.getLongGroupId() != 0) {
            skippedPrivileged++;
        }
        if (!link) {
            Files.setAttribute(path, "unix:mode", entry.getMode() & 07777);
        }
        if (!entry.isDirectory()) {
            FileTime modified = entry.getLastModifiedTime();
            FileTime accessed = entry.getLastAccessTime() != null ? entry.getLastAccessTime() : modified;
            setTimes(path, modified, accessed, at);
        }
    }

    private static void setTimes(Path path, FileTime modified, FileTime accessed, String at) {
        try {
            FileIo.setTimes(path, accessed.toInstant(), modified.toInstant());
        } catch (LinuxException e) {
            throw new OciException(at + ": " + e.getMessage(), e);
        }
    }

    /** The components of an entry name, with "." and empty ones dropped; absolute names and ".." are refused. */
    private static List<String> components(String name, String at) {
        if (name.startsWith("/")) {
            throw new OciException(at + ": absolute path refused (entries are relative to the image root)");
        }
        if (name.indexOf('\0') >= 0) {
            throw new OciException(at + ": NUL in the name");
        }
        List<String> components = new ArrayList<>();
        for (String c : name.split("/")) {
            if (c.equals("..")) {
                throw new OciException(at + ": '..' component refused (it could leave the image root)");
            }
            if (!c.isEmpty() && !c.equals(".")) {
                components.add(c);
            }
        }
        return components;
    }

    /**
     * The real directory, inside the root, that {@code components} name, following symbolic links as the
     * guest would (an absolute target starts at the image root). Missing directories are created when
     * {@code create}, else the result is null. A link that climbs out of the root is refused.
     */
    private Path resolve(List<String> components, boolean create, String at) throws IOException {
        Path known = resolvedDirectories.get(components);
        if (known != null) {
            return known;
        }
        Path resolved = ImageRoot.directory(root, components, create, at);
        if (resolved != null) {
            resolvedDirectories.put(List.copyOf(components), resolved);
        }
        return resolved;
    }

    /** Opaque directory: deletes what lower layers put under {@code dir}, keeping what this layer wrote. */
    private void hideLower(Path dir, Set<Path> written, String at) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                if (!written.contains(child)) {
                    delete(child, at);
                } else if (Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
                    hideLower(child, written, at);
                }
            }
        }
    }

    private static BasicFileAttributes attributes(Path path) {
        return ImageRoot.attributes(path);
    }

    private void delete(Path path, String at) {
        resolvedDirectories.clear();
        deleteTree(path, at);
    }

    /** Deletes a file or tree without following symbolic links; nothing there is fine. */
    static void deleteTree(Path path, String at) {
        try {
            WorkDir.deleteTree(path);
        } catch (VmmException e) {
            throw new OciException(at + ": " + e.getMessage(), e);
        }
    }

    /** A name from a layer, safe to print on one line. */
    static String printable(String name) {
        StringBuilder out = new StringBuilder();
        name.codePoints().limit(200).forEach(c -> {
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return name.length() > 200 ? out + "..." : out.toString();
    }
}
