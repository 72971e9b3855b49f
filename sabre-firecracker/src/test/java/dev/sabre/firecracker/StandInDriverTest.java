package dev.sabre.firecracker;

import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.fail;

/** The driver contract against the Firecracker stand-in, which validates every request against the API file. */
class StandInDriverTest extends FirecrackerDriverContract {
    @TempDir
    static Path shared;
    static FirecrackerDriver driver;
    static VmSpec spec;

    @BeforeAll
    static void standIn() throws IOException {
        int port = Targets.freePort();
        Path binary = Targets.standInBinary(shared, port);
        FirecrackerConfig config = FirecrackerConfig.of(binary)
                .withTap(false)
                .withApiTimeout(Duration.ofSeconds(30))
                .withGuestEndpoint(new InetSocketAddress("127.0.0.1", port));
        driver = new FirecrackerDriver(config, StepLog.silent());
        spec = Targets.standInSpec(shared);
    }

    @Override
    FirecrackerDriver driver() {
        return driver;
    }

    @Override
    VmSpec spec() {
        return spec;
    }

    /** The restored stand-in's first act is to touch its memory and log how many pages matched the snapshot. */
    @Override
    void assertGuestSawSnapshot(Vm vm) throws IOException {
        while (true) {
            String log = Files.readString(vm.serialLog());
            if (log.contains("pages match the snapshot")) {
                return;
            }
            if (!vm.isAlive() || log.contains("CRASH")) {
                fail("the guest did not see its snapshot:\n" + ((FirecrackerVm) vm).diagnostics());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
