package dev.sabre.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one process-supervision helper of the VMs and handlers, on real processes: a gentle stop, SIGKILL for a
 * process that ignores SIGTERM, and a JVM that exits with a child still running leaves neither the child nor
 * its leftovers behind.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ChildProcessTest {
    @TempDir
    Path dir;

    @Test
    void stopEndsAProcessThatHonoursSigterm() throws Exception {
        ChildProcess child = ChildProcess.start(new ProcessBuilder("sleep", "600"), () -> { });
        try {
            assertTrue(child.isAlive());
            assertFalse(child.exitsWithin(Duration.ZERO));
            child.stop(Duration.ofSeconds(30));
            assertFalse(child.isAlive());
            assertEquals(143, child.process().exitValue(), "ended by SIGTERM");
        } finally {
            child.process().destroyForcibly();
            child.release();
        }
    }

    @Test
    void stopKillsAProcessThatIgnoresSigterm() throws Exception {
        Path ready = dir.resolve("ready");
        ChildProcess child = ChildProcess.start(new ProcessBuilder("sh", "-c",
                "trap '' TERM; touch '" + ready + "'; while :; do sleep 1; done"), () -> { });
        try {
            while (!Files.exists(ready)) {
                assertTrue(child.isAlive(), "the shell exited");
                Thread.sleep(10);
            }
            child.stop(Duration.ofMillis(200));
            assertFalse(child.isAlive());
            assertEquals(137, child.process().exitValue(), "ended by SIGKILL");
        } finally {
            child.process().destroyForcibly();
            child.release();
        }
    }

    /** Started by {@link #aJvmThatExitsTakesItsChildrenAndTheirLeftoversWithIt} in a JVM of its own. */
    public static final class ExitingParent {
        public static void main(String[] args) throws Exception {
            Path leftover = Path.of(args[0]);
            Files.createDirectories(leftover);
            ChildProcess child = ChildProcess.start(new ProcessBuilder("sleep", "600"), () -> WorkDir.deleteTree(leftover));
            System.out.println(child.pid());
            System.exit(0);
        }
    }

    @Test
    void aJvmThatExitsTakesItsChildrenAndTheirLeftoversWithIt() throws Exception {
        Path leftover = dir.resolve("work");
        Process parent = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ExitingParent.class.getName(), leftover.toString())
                .redirectErrorStream(true).start();
        String out = new String(parent.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(parent.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, parent.exitValue(), out);
        Optional<ProcessHandle> child = ProcessHandle.of(Long.parseLong(out));
        child.ifPresent(ProcessHandle::destroyForcibly);
        assertFalse(child.map(ProcessHandle::isAlive).orElse(false), "the child outlived its JVM");
        assertFalse(Files.exists(leftover), "its leftovers outlived its JVM");
    }
}
