package dev.sabre.vmm.image;

import dev.sabre.oci.ImageRef;
import dev.sabre.oci.OciException;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The container image a function runs, as its {@code image} file names it: the first line that is not blank
 * or a {@code #} comment is the reference ({@code host:port/repo:tag}, {@code ...@sha256:...},
 * {@code oci:DIR[:TAG]}, {@code oci-archive:FILE}, {@code docker-archive:FILE}, a relative path taken from the
 * file's directory); optional further lines: {@code insecure-registry} allows plain http to a registry that is
 * not on this machine, {@code authfile PATH} names the registry credentials to use (a containers auth file, as
 * {@code skopeo login} writes it; only its path is kept here, never what it holds).
 *
 * @param reference        the image reference
 * @param insecureRegistry plain http / unverified TLS allowed for a non-loopback registry
 * @param authFile         the credentials for the registry (absolute), or null for skopeo's default auth file
 */
public record FunctionImage(String reference, boolean insecureRegistry, Path authFile) {
    /** The name of the file that makes a function directory (or the cache's record) an image function. */
    public static final String FILE = "image";
    private static final String INSECURE = "insecure-registry";
    private static final String AUTHFILE = "authfile ";

    /** Checks the reference; a layout's or archive's path is made absolute, so the record works from anywhere. */
    public FunctionImage {
        ImageRef ref;
        try {
            ref = ImageRef.parse(reference);
        } catch (OciException e) {
            throw new VmmException(e.getMessage(), e);
        }
        if (ref.transport() != ImageRef.Transport.REGISTRY) {
            reference = ref.skopeoName(); // the transport and the absolute path (and tag)
        }
        if (authFile != null) {
            authFile = authFile.toAbsolutePath().normalize();
            if (!Files.isReadable(authFile)) {
                throw new VmmException("auth file " + authFile + " is not a readable file");
            }
        }
    }

    /** An image pulled with skopeo's default credentials. */
    public FunctionImage(String reference, boolean insecureRegistry) {
        this(reference, insecureRegistry, null);
    }

    /** Reads an {@code image} file; an error names the file and line. */
    static FunctionImage read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new VmmException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String reference = null;
        boolean insecure = false;
        Path authFile = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).replaceFirst("#.*", "").strip();
            if (line.isEmpty()) {
                continue;
            }
            if (reference == null) {
                for (String local : List.of("oci:", "oci-archive:", "docker-archive:")) {
                    if (line.startsWith(local) && !line.startsWith(local + "/")) { // relative to the file's directory
                        line = local + file.toAbsolutePath().getParent().resolve(line.substring(local.length()));
                    }
                }
                try {
                    reference = new FunctionImage(line, false).reference();
                } catch (VmmException e) {
                    throw new VmmException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
                }
            } else if (line.equals(INSECURE)) {
                insecure = true;
            } else if (line.startsWith(AUTHFILE) && !line.substring(AUTHFILE.length()).isBlank()) {
                authFile = file.toAbsolutePath().getParent().resolve(line.substring(AUTHFILE.length()).strip());
            } else {
                throw new VmmException(file + " line " + (i + 1) + ": '" + line + "' is neither '" + INSECURE
                        + "', 'authfile PATH' nor a comment (the image reference is on line one)");
            }
        }
        if (reference == null) {
            throw new VmmException(file + ": names no image reference");
        }
        try {
            return new FunctionImage(reference, insecure, authFile);
        } catch (VmmException e) {
            throw new VmmException(file + ": " + e.getMessage(), e);
        }
    }

    /** The text of this definition's {@code image} file. */
    String text() {
        return reference + "\n" + (insecureRegistry ? INSECURE + "\n" : "")
                + (authFile != null ? AUTHFILE + authFile + "\n" : "");
    }
}
