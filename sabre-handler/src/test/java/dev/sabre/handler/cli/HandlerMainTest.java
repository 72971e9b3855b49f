package dev.sabre.handler.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.MemoryImage;
import dev.sabre.format.PackOptions;
import dev.sabre.format.Packer;
import dev.sabre.handler.SimulatedVmm;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handler's one entry point, as the orchestrator runs it: {@link HandlerMain} as a process of its own
 * serving a VMM, answering its control subcommand and stopping on SIGTERM; and its failures, one line each
 * with the exit status {@code sabre} gives them.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HandlerMainTest {
    private static final int PAGES = 256;

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    /** The command that runs {@link HandlerMain} as its own process, as the orchestrator launches it. */
    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), HandlerMain.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs the handler command line as its own process to its end, capturing what it prints. */
    private Run handler(String... args) throws Exception {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process process = new ProcessBuilder(command(args)).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the handler command did not end");
            return new Run(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            process.destroyForcibly();
        }
    }

    /** A small raw memory file with a different byte pattern on every page. */
    private Path memory() throws Exception {
        Path file = dir.resolve("memory");
        byte[] bytes = new byte[PAGES * 4096];
        new Random(3).nextBytes(bytes);
        Files.write(file, bytes);
        return file;
    }

    @Test
    void servesAVmmAsItsOwnProcessAndStopsOnSigterm() throws Exception {
        Path socket = dir.resolve("uffd.sock");
        Path control = dir.resolve("control.sock");
        Process process = new ProcessBuilder(command("--socket", socket.toString(), "--snapshot", memory().toString(),
                "--strategy", "lazy", "--control", control.toString(), "--json"))
                .redirectError(dir.resolve("handler.log").toFile()).start();
        try (BufferedReader reports = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            while (!(Files.exists(socket) && Files.exists(control))) {
                assertTrue(process.isAlive(), () -> "the handler exited: " + log());
                Thread.sleep(10);
            }
            try (SimulatedVmm vmm = SimulatedVmm.start(socket, dir.resolve("memory"), 1)) {
                SimulatedVmm.TouchResult touched = vmm.touch(new long[] {0, 7, PAGES - 1}, 1);
                assertTrue(touched.ok(), touched.toString());
            }
            String report = reports.readLine();
            assertTrue(report != null && report.contains("\"outcome\":\"VMM exited\""), report + "\n" + log());

            Run stats = handler("stats", "--control", control.toString());
            assertEquals(0, stats.exit(), stats.err());
            assertTrue(stats.out().startsWith("OK"), stats.out());

            process.destroy();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "SIGTERM stops the handler");
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void failuresAreOneLineWithTheStatusSabreGives() throws Exception {
        Path socket = dir.resolve("uffd.sock");
        Run unknown = handler("--socket", socket.toString(), "--snapshot", memory().toString(), "--strategy", "nope");
        assertEquals(1, unknown.exit());
        List<String> lines = unknown.err().lines().toList();
        assertEquals(1, lines.size(), unknown.err());
        assertTrue(lines.getFirst().startsWith("sabre handler: unknown strategy 'nope' (expected one of file, lazy, eager, "), unknown.err());

        Path packed = dir.resolve("memory.sabre");
        try (MemoryImage image = MemoryImage.open(memory(), 4096, null)) {
            Packer.pack(image, packed, PackOptions.defaults(), null);
        }
        try (FileChannel channel = FileChannel.open(packed, StandardOpenOption.WRITE)) {
            channel.truncate(channel.size() / 2);
        }
        Run corrupt = handler("--socket", socket.toString(), "--snapshot", packed.toString(), "--strategy", "sabre");
        assertEquals(3, corrupt.exit(), corrupt.err());
        assertEquals(1, corrupt.err().lines().count(), corrupt.err());
        assertTrue(corrupt.err().startsWith("sabre handler: "), corrupt.err());
        assertFalse(Files.exists(socket), "a handler that cannot start leaves no socket");

        Run missing = handler("--strategy", "lazy");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().startsWith("--socket, --snapshot and --strategy are required"), missing.err());
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("handler.log"));
        } catch (java.io.IOException e) {
            return "(no log)";
        }
    }
}
