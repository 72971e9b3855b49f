package dev.sabre.oci;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The image transport: Debian's {@code skopeo}, which speaks the registry API (anonymous, basic and
 * bearer-token auth, TLS, retries), reads OCI layouts and archives and docker archives, and checks every
 * blob against its digest as it copies. Credentials reach it only through an auth file (never a command
 * line, where other users could read them); its errors become one line naming the image.
 */
final class Skopeo {
    private final HostTool tool;
    private final Path authFile;

    Skopeo(Path authFile, Duration timeout) {
        this.tool = new HostTool("skopeo", "skopeo", timeout);
        this.authFile = authFile;
    }

    /** The manifest or index {@code name} points to, as stored (its bytes are what its digest covers). */
    byte[] inspectRaw(String name, boolean tlsVerify, String image) {
        List<String> command = new ArrayList<>(List.of("inspect", "--raw"));
        if (!tlsVerify) {
            command.add("--tls-verify=false");
        }
        if (authFile != null) {
            command.add("--authfile=" + authFile);
        }
        command.add(name);
        byte[] manifest = tool.run(command, image);
        if (manifest.length >= HostTool.MAX_OUTPUT) {
            throw new OciException("image " + image + ": manifest larger than " + Manifests.MAX_MANIFEST_BYTES + " bytes");
        }
        return manifest;
    }

    /**
     * Copies the linux/amd64 image {@code source} into an OCI layout ({@code destination} as {@code oci:DIR:TAG});
     * blobs already in the layout are not fetched again.
     */
    void copy(String source, boolean tlsVerify, String destination, String image) {
        List<String> command = new ArrayList<>(List.of("copy", "--quiet",
                "--override-os=linux", "--override-arch=amd64"));
        if (!tlsVerify) {
            command.add("--src-tls-verify=false");
        }
        if (authFile != null) {
            command.add("--src-authfile=" + authFile);
        }
        command.add(source);
        command.add(destination);
        tool.run(command, image);
    }
}
