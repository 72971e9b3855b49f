package dev.sabre.handler;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The restore strategies, by their stable names (docs/handler.md lists them with the original system's
 * snapshot types). {@code file} needs no handler: the VMM maps the raw memory file itself, the baseline
 * every platform has. Every other strategy is a small {@link StrategyPolicy} run by a handler session.
 * This one enumeration serves the handler, the command line and the end-to-end experiments.
 */
public enum Strategy {
    /** The VMM maps the raw memory file itself (Firecracker's File backend); no handler. */
    FILE("file", "Full, Diff (the VMM's own file mapping)", null),
    /** Every page on demand, one UFFDIO_COPY per fault (Firecracker's on_demand_handler). */
    LAZY("lazy", "Full, Diff (served through a handler instead of a file mapping)", LazyStrategy::new),
    /** Everything on the first fault, before that fault is answered (Firecracker's fault_all_handler). */
    EAGER("eager", "Full, Diff (installed eagerly)", EagerStrategy::new),
    /** Lazy, recording every faulting page in fault order; the working set is written as a .sabre file. */
    REAP_RECORD("reap-record", "REAPRecord (raw working set), REAPRecordCompress (with --ws-codec)",
            ReapRecordStrategy::new),
    /** Prefetch an uncompressed working set while the guest runs, the rest lazily. */
    REAP("reap", "REAPReplay", () -> new ReapStrategy(false)),
    /** Prefetch a compressed working set while the guest runs, the rest lazily. */
    REAP_COMPRESSED("reap-compressed", "REAPReplayCompress", () -> new ReapStrategy(true)),
    /** Sabre's eager compressed restore: stream the whole compressed snapshot in while the guest runs. */
    SABRE("sabre", "FullCompressed, DiffCompressed", SabreStrategy::new);

    private final String label;
    private final String originalTypes;
    private final Supplier<StrategyPolicy> policy;

    Strategy(String label, String originalTypes, Supplier<StrategyPolicy> policy) {
        this.label = label;
        this.originalTypes = originalTypes;
        this.policy = policy;
    }

    public String label() {
        return label;
    }

    /** Which snapshot types of the original Sabre fork of Firecracker this strategy stands for. */
    public String originalTypes() {
        return originalTypes;
    }

    /** False only for {@code file}, where the VMM maps the memory file itself. */
    public boolean servedByHandler() {
        return policy != null;
    }

    /** Whether a restore needs a recorded working set first (reap, reap-compressed). */
    public boolean replaysWorkingSet() {
        return this == REAP || this == REAP_COMPRESSED;
    }

    /** The policy a handler session runs; {@code file} has none. */
    StrategyPolicy policy() {
        if (policy == null) {
            throw new IllegalArgumentException("strategy " + label + " needs no page-fault handler: the VMM maps the "
                    + "memory file itself");
        }
        return policy.get();
    }

    /** Every strategy, in the order tables and plots show them. */
    public static List<Strategy> all() {
        return List.of(values());
    }

    public static Strategy parse(String name) {
        for (Strategy s : values()) {
            if (s.label.equals(name.strip().toLowerCase(Locale.ROOT))) {
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
