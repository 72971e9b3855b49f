package dev.sabre.vmm.image;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds the small initramfs every function VM boots with: a static busybox and an {@code /init}
 * that loads the virtio and ext4 modules (they are modules, not built in, in Debian's kernel), mounts
 * the function's root file system read-only, configures the user-mode network and switches to the
 * root's {@code /sabre/init}.
 */
public final class InitramfsBuilder {
    private static final String INIT_RESOURCE = "/dev/sabre/vmm/image/initramfs-init.sh";

    private final Cache cache;
    private final StepLog progress;

    public InitramfsBuilder(Cache cache, StepLog progress) {
        this.cache = cache;
        this.progress = progress;
    }

    /** The cached initramfs for this kernel, built when its inputs changed. */
    public Path build(KernelImage kernel) {
        try {
            byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
            byte[] init = resource(INIT_RESOURCE);
            String modules = String.join("\n", kernel.modules()) + "\n";
            Cache.Hasher hasher = new Cache.Hasher().add("initramfs-v1").add(busybox).add(init).add(modules)
                    .add(kernel.release());
            for (String m : kernel.modules()) {
                hasher.addFile(kernel.moduleDir(), kernel.moduleDir().resolve(m + ".ko"));
            }
            Path target = cache.dir("initramfs").resolve("initramfs-" + hasher.hex() + ".cpio");
            if (Files.isRegularFile(target)) {
                return target;
            }
            progress.step("building initramfs for " + kernel.release());
            Path tmp = target.resolveSibling(target.getFileName() + ".tmp" + ProcessHandle.current().pid());
            try (CpioWriter cpio = new CpioWriter(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
                for (String d : new String[] {"bin", "dev", "proc", "sys", "newroot", "lib", "lib/modules"}) {
                    cpio.directory(d);
                }
                cpio.charDevice("dev/console", 0600, 5, 1);
                cpio.charDevice("dev/null", 0666, 1, 3);
                cpio.file("bin/busybox", 0755, busybox);
                cpio.symlink("bin/sh", "busybox");
                cpio.file("init", 0755, init);
                cpio.file("modules.list", 0644, modules.getBytes(StandardCharsets.UTF_8));
                for (String m : kernel.modules()) {
                    cpio.file("lib/modules/" + m + ".ko", 0644, Files.readAllBytes(kernel.moduleDir().resolve(m + ".ko")));
                }
            }
            Cache.publish(tmp, target);
            return target;
        } catch (IOException e) {
            throw new VmmException("cannot build the initramfs: " + e.getMessage(), e);
        }
    }

    static byte[] resource(String name) {
        try (InputStream in = InitramfsBuilder.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new VmmException("missing class-path resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new VmmException("cannot read resource " + name + ": " + e.getMessage(), e);
        }
    }
}
