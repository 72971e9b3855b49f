package dev.sabre.vmm.image;

import java.nio.file.Path;
import java.util.List;

/**
 * One function definition: its directory under {@code functions/}, the Debian packages it needs and
 * a content hash of everything that goes into its root file system (its files, the shared runtime,
 * the package list).
 *
 * @param name     the directory name, e.g. {@code fibonacci}
 * @param dir      the function's directory
 * @param common   the shared runtime directory ({@code functions/_common})
 * @param packages Debian packages beyond the base image's
 * @param hash     content hash of the inputs
 */
public record FunctionSource(String name, Path dir, Path common, List<String> packages, String hash) {
}
