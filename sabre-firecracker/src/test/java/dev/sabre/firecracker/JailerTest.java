package dev.sabre.firecracker;

import dev.sabre.vmm.StepLog;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The jailer's command line and chroot layout as its documentation gives them (no jailer runs here:
 * it needs a real Firecracker to exec).
 */
class JailerTest {
    @Test
    void theJailerRunsFirecrackerInsideItsChroot() {
        Path firecracker = Path.of("/opt/fc/firecracker");
        Jailer jailer = new Jailer(Path.of("/opt/fc/jailer"), 123, 456, Path.of("/srv/jail"));
        FirecrackerDriver driver = new FirecrackerDriver(FirecrackerConfig.of(firecracker).withJailer(jailer), StepLog.silent());
        assertEquals(List.of("/opt/fc/jailer", "--id", "sabre-1", "--exec-file", "/opt/fc/firecracker", "--uid", "123",
                        "--gid", "456", "--chroot-base-dir", "/srv/jail", "--", "--api-sock", "/api.sock", "--level", "Info"),
                driver.command("sabre-1", "/api.sock"));
        assertEquals(Path.of("/srv/jail/firecracker/sabre-1/root"), jailer.chroot(firecracker, "sabre-1"));
    }

    @Test
    void withoutAJailerFirecrackerRunsDirectly() {
        FirecrackerDriver driver = new FirecrackerDriver(FirecrackerConfig.of(Path.of("/opt/fc/firecracker")), StepLog.silent());
        assertEquals(List.of("/opt/fc/firecracker", "--id", "sabre-1", "--api-sock", "/w/api.sock", "--level", "Info"),
                driver.command("sabre-1", "/w/api.sock"));
    }
}
