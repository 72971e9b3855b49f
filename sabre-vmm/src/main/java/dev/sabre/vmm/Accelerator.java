package dev.sabre.vmm;

import java.util.Locale;

/** The CPU virtualization a VMM uses: hardware KVM where it really works, QEMU's TCG emulation otherwise. */
public enum Accelerator {
    KVM, TCG;

    /** Parses {@code kvm} or {@code tcg} (any case). */
    public static Accelerator parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "kvm" -> KVM;
            case "tcg" -> TCG;
            default -> throw new VmmException("unknown accelerator '" + name + "' (expected kvm or tcg)");
        };
    }

    public String qemuName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
