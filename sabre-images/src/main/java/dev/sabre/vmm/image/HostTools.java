package dev.sabre.vmm.image;

import dev.sabre.vmm.VmmException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks up front that the host has the Debian packages the testbed drives, so a fresh machine gets
 * one line naming what is missing and the command that installs it, instead of a failure halfway
 * through an image build.
 */
public final class HostTools {
    /** Tool (absolute path) to the Debian package that provides it, for image building. */
    private static final Map<String, String> IMAGE_TOOLS = new LinkedHashMap<>();
    /** Tools for running VMs. */
    private static final Map<String, String> VM_TOOLS = new LinkedHashMap<>();

    static {
        IMAGE_TOOLS.put("/usr/sbin/debootstrap", "debootstrap");
        IMAGE_TOOLS.put("/bin/busybox", "busybox-static");
        IMAGE_TOOLS.put("/sbin/mkfs.ext4", "e2fsprogs");
        IMAGE_TOOLS.put("/usr/bin/apt-get", "apt");
        IMAGE_TOOLS.put("/usr/bin/dpkg", "dpkg");
        IMAGE_TOOLS.put("/usr/sbin/chroot", "coreutils");
        VM_TOOLS.put("/usr/bin/qemu-system-x86_64", "qemu-system-x86");
        VM_TOOLS.put("/usr/bin/gcc", "gcc");
        VM_TOOLS.put("/usr/include/linux/userfaultfd.h", "libc6-dev");
    }

    private HostTools() {
    }

    /** Throws when a tool needed to build images is missing. */
    public static void requireImageTools() {
        require(IMAGE_TOOLS);
        if (!staticBusybox()) {
            throw new VmmException("the initramfs needs a static busybox: /bin/busybox is dynamically linked; "
                    + "install package busybox-static: " + installCommand(List.of("busybox-static")));
        }
        if (!"root".equals(System.getProperty("user.name")) && !isRoot()) {
            throw new VmmException("building root file systems (debootstrap, chroot) needs root");
        }
    }

    /** Throws when a tool needed to run VMs is missing. */
    public static void requireVmTools() {
        require(VM_TOOLS);
    }

    /** The apt-get command that installs the given packages. */
    public static String installCommand(List<String> packages) {
        return "apt-get update && apt-get install -y --no-install-recommends " + String.join(" ", packages)
                + "  (or run sabre-vmm/install-host-packages.sh)";
    }

    private static void require(Map<String, String> tools) {
        List<String> missingPackages = new ArrayList<>();
        List<String> missingTools = new ArrayList<>();
        for (var e : tools.entrySet()) {
            Path tool = Path.of(e.getKey());
            boolean present = tool.toString().endsWith(".h") ? Files.isRegularFile(tool)
                    : Files.isExecutable(tool) || onPath(tool.getFileName().toString());
            if (!present) {
                missingTools.add(Path.of(e.getKey()).getFileName().toString());
                if (!missingPackages.contains(e.getValue())) {
                    missingPackages.add(e.getValue());
                }
            }
        }
        if (!missingTools.isEmpty()) {
            throw new VmmException("missing host tools " + missingTools + " from Debian packages " + missingPackages
                    + "; install them with: " + installCommand(missingPackages));
        }
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** True when /bin/busybox has no ELF interpreter (is statically linked). */
    static boolean staticBusybox() {
        try {
            byte[] elf = Files.readAllBytes(Path.of("/bin/busybox"));
            return Elf.isStatic(elf);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Whether this process runs as root (uid 0). */
    public static boolean isRoot() {
        try {
            return "0".equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString());
        } catch (Exception e) {
            return false;
        }
    }
}
