package dev.sabre.cli.image;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** How the image commands reach a registry: the options {@code pull} and {@code build --push} share. */
public final class RegistryOptions {
    @Option(names = "--insecure-registry",
            description = "Allow plain http and unverified TLS for a registry that is not on this machine "
                    + "(loopback registries always may).")
    boolean insecure;

    @Option(names = "--authfile", paramLabel = "FILE",
            description = "Registry credentials as 'skopeo login' / 'podman login' write them (default: theirs).")
    Path authFile;
}
