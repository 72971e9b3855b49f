package dev.sabre.firecracker;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Runs Firecracker under its jailer (chroot, new mount namespace, dropped privileges), as production
 * deployments do. Every file Firecracker opens is hard-linked into the chroot
 * {@code chrootBase/firecracker/ID/root}, so it must live on the same file system as {@code chrootBase}.
 *
 * @param binary     the {@code jailer} executable
 * @param uid        user Firecracker runs as
 * @param gid        group Firecracker runs as
 * @param chrootBase the jailer's {@code --chroot-base-dir}
 */
public record Jailer(Path binary, int uid, int gid, Path chrootBase) {
    public Jailer {
        Objects.requireNonNull(binary, "binary");
        Objects.requireNonNull(chrootBase, "chrootBase");
    }

    /** The root of the jail of the VM {@code id} running {@code firecracker}. */
    public Path chroot(Path firecracker, String id) {
        return chrootBase.resolve(firecracker.getFileName().toString()).resolve(id).resolve("root");
    }
}
