package dev.sabre.oci;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds images with Debian's {@code buildah}, daemonless: a base image from a root file system tree
 * ({@code buildah from scratch}, {@code buildah add} of the tree as a tar, which keeps owners and modes,
 * {@code buildah commit}), a Dockerfile on top of it ({@code buildah bud --isolation chroot}, RUN steps
 * included, which works as root without user namespaces), and a push to a registry. Images live in buildah's
 * local storage under their names.
 */
public final class Buildah {
    private final HostTool tool;

    public Buildah(Duration timeout) {
        this.tool = new HostTool("buildah", "buildah", timeout);
    }

    /** True when buildah's storage holds an image of that name. */
    public boolean hasImage(String name) {
        try {
            tool.run(List.of("inspect", "--type", "image", "--format", "{{.FromImageID}}", name), name);
            return true;
        } catch (OciException e) {
            return false;
        }
    }

    /**
     * Commits the directory tree {@code rootfs} as image {@code name} with the given default command. The
     * tree is archived with numeric owners to a temporary tar next to {@code work}, deleted afterwards.
     */
    public void importRootfs(Path rootfs, String name, List<String> cmd, Path work) throws IOException {
        Files.createDirectories(work);
        Path tar = Files.createTempFile(work, "rootfs-", ".tar");
        String container = null;
        try {
            new HostTool("tar", "tar", Duration.ofMinutes(30)).run(List.of("--numeric-owner", "--xattrs",
                    "-C", rootfs.toString(), "-cf", tar.toString(), "."), name);
            container = new String(tool.run(List.of("from", "--quiet", "scratch"), name)).strip();
            tool.run(List.of("add", "--quiet", container, tar.toString(), "/"), name);
            tool.run(List.of("config", "--cmd", json(cmd), "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--os", "linux", "--arch", "amd64", container), name);
            tool.run(List.of("commit", "--quiet", "--rm", container, name), name);
            container = null;
        } finally {
            if (container != null) {
                try {
                    tool.run(List.of("rm", container), name);
                } catch (OciException ignored) {
                    // the build already failed; that error is the one to report
                }
            }
            Files.deleteIfExists(tar);
        }
    }

    /**
     * {@code buildah bud}: builds {@code dockerfile} in {@code context} as {@code name}, with each step's layer
     * cached ({@code --layers}), so a rebuild of an unchanged function does not run its RUN steps again.
     */
    public void buildDockerfile(Path context, Path dockerfile, String name, Map<String, String> buildArgs) {
        List<String> args = new ArrayList<>(List.of("bud", "--isolation", "chroot", "--layers", "--quiet", "--pull-never",
                "-f", dockerfile.toString(), "-t", name));
        buildArgs.forEach((k, v) -> {
            args.add("--build-arg");
            args.add(k + "=" + v);
        });
        args.add(context.toString());
        tool.run(args, name);
    }

    /** Pushes {@code name} to a registry reference; plain http for loopback registries or when insecure. */
    public void push(String name, ImageRef destination, boolean insecure, Path authFile) {
        if (destination.transport() != ImageRef.Transport.REGISTRY || destination.digest() != null) {
            throw new OciException("image " + destination + ": push needs a registry reference with a tag");
        }
        List<String> args = new ArrayList<>(List.of("push", "--quiet"));
        if (destination.loopbackRegistry() || insecure) {
            args.add("--tls-verify=false");
        }
        if (authFile != null) {
            args.add("--authfile=" + authFile);
        }
        args.add(name);
        args.add(destination.skopeoName());
        tool.run(args, destination.text());
    }

    private static String json(List<String> values) {
        com.google.gson.JsonArray array = new com.google.gson.JsonArray();
        values.forEach(array::add);
        return array.toString();
    }
}
