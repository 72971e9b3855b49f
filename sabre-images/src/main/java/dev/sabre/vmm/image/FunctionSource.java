package dev.sabre.vmm.image;

import java.nio.file.Path;
import java.util.List;

/**
 * One function definition: either a directory under {@code functions/} with its code and the Debian packages
 * it needs, or a container image ({@link #image()} is set) whose process is the function.
 *
 * @param name     the function's name, e.g. {@code fibonacci}
 * @param dir      the function's directory (for an image defined with {@code sabre vm build NAME --image REF},
 *                 the cache's record of it)
 * @param common   the shared runtime directory ({@code functions/_common})
 * @param packages Debian packages beyond the base image's (none for an image)
 * @param hash     content hash of the inputs (for an image, of its definition; the image's manifest digest
 *                 is added when it is resolved)
 * @param image    the container image the function runs, or null for a function built from Debian packages
 */
public record FunctionSource(String name, Path dir, Path common, List<String> packages, String hash,
                             FunctionImage image) {
}
