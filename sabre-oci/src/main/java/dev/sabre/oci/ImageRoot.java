package dev.sabre.oci;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * Paths inside an unpacked image root, resolved the way the guest will see them: a symbolic link is followed
 * inside the root (an absolute target starts at the image root), and one that climbs out of the root is
 * refused, so nothing outside the root is ever read or written through a link the image holds.
 */
public final class ImageRoot {
    private static final int MAX_SYMLINKS = 40; // as the kernel's path walk

    private ImageRoot() {
    }

    /**
     * The real directory inside {@code root} that {@code components} name. Missing directories are created when
     * {@code create}, else the result is null. {@code at} names the image and entry in errors.
     */
    static Path directory(Path root, List<String> components, boolean create, String at) throws IOException {
        Path current = root;
        Deque<String> todo = new ArrayDeque<>(components);
        int links = 0;
        while (!todo.isEmpty()) {
            String c = todo.pop();
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) { // only from a link's target
                if (current.equals(root)) {
                    throw new OciException(at + ": a symbolic link on the way climbs out of the image root");
                }
                current = current.getParent();
                continue;
            }
            Path next = current.resolve(c);
            BasicFileAttributes attributes = attributes(next);
            if (attributes == null) {
                if (!create) {
                    return null;
                }
                Files.createDirectory(next);
                current = next;
            } else if (attributes.isSymbolicLink()) {
                if (++links > MAX_SYMLINKS) {
                    throw new OciException(at + ": too many symbolic links on the way");
                }
                String target = Files.readSymbolicLink(next).toString();
                List<String> parts = Arrays.asList(target.split("/"));
                for (int i = parts.size() - 1; i >= 0; i--) {
                    todo.push(parts.get(i));
                }
                if (target.startsWith("/")) {
                    current = root;
                }
            } else if (attributes.isDirectory()) {
                current = next;
            } else {
                throw new OciException(at + ": '" + LayerApplier.printable(root.relativize(next).toString())
                        + "' is not a directory");
            }
        }
        return current;
    }

    /**
     * The file an absolute guest path such as {@code /etc/passwd} names inside {@code root}, every link on the
     * way (the last one too) followed inside the root; null when there is nothing there.
     */
    public static Path file(Path root, String guestPath, String at) throws IOException {
        Path base = root.toAbsolutePath().normalize();
        List<String> components = new ArrayList<>(Arrays.asList(guestPath.split("/")));
        for (int links = 0; links <= MAX_SYMLINKS; links++) {
            components.removeIf(c -> c.isEmpty() || c.equals("."));
            if (components.isEmpty()) {
                return base;
            }
            String last = components.getLast();
            List<String> parent = components.subList(0, components.size() - 1);
            Path dir = directory(base, parent, false, at);
            if (dir == null) {
                return null;
            }
            if (last.equals("..")) {
                throw new OciException(at + ": '" + LayerApplier.printable(guestPath) + "' ends in '..'");
            }
            Path path = dir.resolve(last);
            BasicFileAttributes attributes = attributes(path);
            if (attributes == null || !attributes.isSymbolicLink()) {
                return attributes == null ? null : path;
            }
            String target = Files.readSymbolicLink(path).toString();
            List<String> next = new ArrayList<>(target.startsWith("/") ? List.of()
                    : Arrays.asList(base.relativize(dir).toString().split("/")));
            next.addAll(Arrays.asList(target.split("/")));
            components = next;
        }
        throw new OciException(at + ": too many symbolic links on the way to '" + LayerApplier.printable(guestPath) + "'");
    }

    /** The directory an absolute guest path names inside {@code root}, created (with its parents) when missing. */
    public static Path directories(Path root, String guestPath, String at) throws IOException {
        return directory(root.toAbsolutePath().normalize(), Arrays.asList(guestPath.split("/")), true, at);
    }

    static BasicFileAttributes attributes(Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null;
        }
    }
}
