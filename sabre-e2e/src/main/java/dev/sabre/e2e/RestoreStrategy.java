package dev.sabre.e2e;

import dev.sabre.handler.Strategy;
import dev.sabre.vmm.VmmException;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The restore strategies an experiment compares, by their stable names (the table in sabre-e2e/README.md;
 * the handler's in docs/handler.md, "Strategies and the original snapshot types"): {@code file}
 * needs no handler (the VMM maps the raw memory file itself, the baseline every platform has); every other
 * one is a {@link Strategy} of the page-fault handler, which serves guest memory through userfaultfd.
 */
public enum RestoreStrategy {
    FILE("file", null),
    LAZY("lazy", Strategy.LAZY),
    EAGER("eager", Strategy.EAGER),
    REAP_RECORD("reap-record", Strategy.REAP_RECORD),
    REAP("reap", Strategy.REAP),
    REAP_COMPRESSED("reap-compressed", Strategy.REAP_COMPRESSED),
    SABRE("sabre", Strategy.SABRE);

    private final String label;
    private final Strategy handlerStrategy;

    RestoreStrategy(String label, Strategy handlerStrategy) {
        this.label = label;
        this.handlerStrategy = handlerStrategy;
    }

    public String label() {
        return label;
    }

    /** The handler strategy, or null for {@code file} (no handler). */
    public Strategy handlerStrategy() {
        return handlerStrategy;
    }

    public boolean needsHandler() {
        return handlerStrategy != null;
    }

    /** Whether a restore needs a recorded working set first. */
    public boolean needsWorkingSet() {
        return this == REAP || this == REAP_COMPRESSED;
    }

    /** Every strategy, in the order the table and plots show them. */
    public static List<RestoreStrategy> all() {
        return List.of(values());
    }

    public static RestoreStrategy parse(String name) {
        for (RestoreStrategy s : values()) {
            if (s.label.equals(name.strip().toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new VmmException("unknown strategy '" + name + "' (expected one of "
                + Arrays.stream(values()).map(RestoreStrategy::label).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return label;
    }
}
