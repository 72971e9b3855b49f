package dev.sabre.firecracker;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.image.ImageBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The same contract against a real Firecracker with a real guest (the fibonacci function), where a
 * Firecracker binary and hardware KVM exist; skipped elsewhere with the reason.
 */
@EnabledIf(value = "available", disabledReason = "needs a firecracker binary ($SABRE_FIRECRACKER or PATH) and hardware KVM")
class RealFirecrackerDriverTest extends FirecrackerDriverContract {
    static FirecrackerDriver driver;
    static VmSpec spec;

    static boolean available() {
        String why = Targets.whyNoRealFirecracker();
        if (why != null) {
            System.err.println("real Firecracker tests skipped: " + why);
        }
        return why == null;
    }

    @BeforeAll
    static void realFirecracker() {
        driver = new FirecrackerDriver(FirecrackerConfig.of(FirecrackerConfig.locate(null)), StepLog.stderr());
        spec = VmSpec.of(ImageBuilder.standard(StepLog.stderr()).build("fibonacci")).withMemoryMiB(256);
    }

    @Override
    FirecrackerDriver driver() {
        return driver;
    }

    @Override
    VmSpec spec() {
        return spec;
    }
}
