package dev.sabre.handler;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a session fills guest memory. The names are stable (DESIGN.md contract 4); {@link #originalTypes}
 * says which snapshot types of the original Sabre fork of Firecracker each one stands for.
 */
public enum Strategy {
    /** Every page on demand, one 4 KiB UFFDIO_COPY per fault (Firecracker's on_demand_handler). */
    LAZY("lazy", "Full, Diff (served through a handler instead of a file mapping)"),
    /** Everything on the first fault, before that fault is answered (Firecracker's fault_all_handler). */
    EAGER("eager", "Full, Diff (installed eagerly)"),
    /** Lazy, recording every faulting page in fault order; the working set is written as a .sabre file. */
    REAP_RECORD("reap-record", "REAPRecord (raw working set), REAPRecordCompress (with --ws-codec)"),
    /** Prefetch an uncompressed working set while the guest runs, the rest lazily. */
    REAP("reap", "REAPReplay"),
    /** Prefetch a compressed working set while the guest runs, the rest lazily. */
    REAP_COMPRESSED("reap-compressed", "REAPReplayCompress"),
    /** Sabre's eager compressed restore: stream the whole compressed snapshot in while the guest runs. */
    SABRE("sabre", "FullCompressed, DiffCompressed");

    private final String label;
    private final String originalTypes;

    Strategy(String label, String originalTypes) {
        this.label = label;
        this.originalTypes = originalTypes;
    }

    public String label() {
        return label;
    }

    public String originalTypes() {
        return originalTypes;
    }

    /** Whether the strategy installs a working set given with {@code --ws}. */
    public boolean replaysWorkingSet() {
        return this == REAP || this == REAP_COMPRESSED;
    }

    public static Strategy parse(String name) {
        for (Strategy s : values()) {
            if (s.label.equals(name.toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown strategy '" + name + "' (expected one of "
                + Arrays.stream(values()).map(Strategy::label).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return label;
    }
}
