package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.codec.CodecId;
import dev.sabre.format.CorruptSnapshotException;
import dev.sabre.format.PackPolicy;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.EventFd;
import dev.sabre.linux.Memory;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and broken VMMs, corrupt snapshots and shutdown: each bad VMM is refused or cleaned up with a log
 * line, and the handler keeps serving a good VMM afterwards.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class RobustnessTest {
    private static final long MEMORY = 512L << 20;

    @TempDir
    Path dir;

    private HandlerConfig config(Path memory, Strategy strategy) {
        return HandlerConfig.of(dir.resolve("uffd.sock"), memory, strategy).withHandshakeTimeout(Duration.ofSeconds(2));
    }

    private static void assertGoodVmmServed(RunningHandler running) throws Exception {
        try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
            SimulatedVmm.TouchResult r = vmm.touch(new Random(9).longs(500, 0, vmm.pageCount()).toArray(), 2);
            assertTrue(r.ok(), r.toString());
        }
        assertEquals("VMM exited", running.nextReport().outcome());
    }

    /** Sends {@code json} with the given descriptors as a VMM would and returns why it was refused. */
    private static String sendHandshake(RunningHandler running, String json, int... fds) throws Exception {
        try (UnixSocket socket = UnixSocket.connect(running.socket)) {
            socket.send(json.getBytes(StandardCharsets.UTF_8), fds);
            return running.nextDrop();
        }
    }

    private static String region(long base, long size, long offset, long pageSize) {
        return "{\"base_host_virt_addr\":" + base + ",\"size\":" + size + ",\"offset\":" + offset
                + ",\"page_size\":" + pageSize + ",\"page_size_kib\":" + pageSize + "}";
    }

    @Test
    void malformedHandshakesAreRefusedAndOthersStillServed() throws Exception {
        try (RunningHandler running = RunningHandler.start(config(TestSnapshots.memory(), Strategy.LAZY));
             Userfaultfd uffd = Userfaultfd.create(true, false); EventFd notUffd = EventFd.create(true)) {
            uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
            var guest = Memory.mapAnonymous(MEMORY);
            try {
                uffd.register(guest.address(), MEMORY, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
                long base = guest.address();
                String good = "[" + region(base, MEMORY, 0, 4096) + "]";
                assertTrue(Files.getPosixFilePermissions(running.socket).equals(PosixFilePermissions.fromString("rw-------")));
                List<String[]> cases = List.of(
                        new String[] {"{not json", "malformed JSON"},
                        new String[] {"{\"regions\":[]}", "not a JSON array"},
                        new String[] {"[]", "expected 1.."},
                        new String[] {"[" + region(base, MEMORY / 2, 0, 4096) + "]", "cover"},
                        new String[] {"[" + region(base, MEMORY, 0, 8192) + "]", "page_size"},
                        new String[] {"[" + region(base + 1, MEMORY, 0, 4096) + "]", "base_host_virt_addr"},
                        new String[] {"[" + region(base, 0, 0, 4096) + "]", "size"},
                        new String[] {"[" + region(base, MEMORY, 4096, 4096) + "]", "outside"},
                        new String[] {"[" + region(base, MEMORY / 2, 0, 4096) + "," + region(base + 4096, MEMORY / 2, MEMORY / 2, 4096) + "]", "overlap"},
                        new String[] {"[" + region(base, MEMORY / 2, 0, 4096) + "," + region(base + MEMORY / 2, MEMORY / 2, 0, 4096) + "]", "overlap"},
                        new String[] {"[" + region(0x7fff_ffff_0000L, MEMORY, 0, 4096) + "]", "user space"},
                        new String[] {"[{\"size\":18446744073709551615}]", "missing"},
                        new String[] {"[".repeat(100), "deeper"});
                for (String[] c : cases) {
                    String outcome = sendHandshake(running, c[0], uffd.fd());
                    assertTrue(outcome.startsWith("handshake refused") && outcome.contains(c[1]), c[0] + " -> " + outcome);
                }
                assertTrue(sendHandshake(running, good).contains("expected exactly 1"));
                assertTrue(sendHandshake(running, good, uffd.fd(), uffd.fd()).contains("expected exactly 1"));
                assertTrue(sendHandshake(running, good, notUffd.fd()).contains("not a userfaultfd"));
                try (UnixSocket silent = UnixSocket.connect(running.socket)) {
                    assertTrue(running.nextDrop().contains("no complete handshake within"));
                }
                UnixSocket.connect(running.socket).close();
                assertTrue(running.nextDrop().contains("disconnected before"));
                assertTrue(running.log().contains("handshake refused:"));
                assertGoodVmmServed(running);
            } finally {
                Memory.munmap(guest);
            }
        }
    }

    @Test
    void corruptSnapshotMetadataIsRefusedAtStart() throws IOException {
        Path snapshot = dir.resolve("bad-meta.sabre");
        Files.copy(TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16), snapshot);
        flipByte(snapshot, Files.size(snapshot) - 100); // inside the metadata sections
        var e = assertThrows(CorruptSnapshotException.class,
                () -> PageFaultHandler.start(config(snapshot, Strategy.LAZY)));
        assertTrue(e.getMessage().contains("bad-meta.sabre"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("uffd.sock")));
    }

    @Test
    void corruptFrameIsRefusedAtStartWithVerify() throws IOException {
        Path snapshot = corruptFrameCopy();
        var e = assertThrows(CorruptSnapshotException.class,
                () -> PageFaultHandler.start(config(snapshot, Strategy.SABRE).withVerify(true)));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    /** The VMM is a separate process here, so that the handler really kills it. */
    @Test
    void vmmIsKilledWhenAFaultHitsACorruptFrameAndNoCorruptByteReachesIt() throws Exception {
        Path snapshot = corruptFrameCopy();
        try (RunningHandler running = RunningHandler.start(config(snapshot, Strategy.LAZY))) {
            Process vmm = startVmmProcess(running.socket, -1);
            assertTrue(vmm.waitFor(120, TimeUnit.SECONDS), "the VMM was left hanging");
            String output = new String(vmm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(137, vmm.exitValue(), "expected SIGKILL; VMM said: " + output);
            assertFalse(output.contains("MISMATCH"), output);
            SessionReport report = running.nextReport();
            assertTrue(report.outcome().contains("cannot be served") && report.outcome().contains("checksum"), report.outcome());
            assertTrue(running.log().contains("killed VMM pid " + vmm.pid()), running.log());
            assertGoodVmmServedFromCleanPages(running);
        }
    }

    @Test
    void vmmExitingMidRestoreIsCleanedUp() throws Exception {
        Path snapshot = TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16);
        try (RunningHandler running = RunningHandler.start(config(snapshot, Strategy.SABRE))) {
            Process vmm = startVmmProcess(running.socket, 100); // touches 100 pages and exits while the prefetch streams
            assertTrue(vmm.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, vmm.exitValue(), new String(vmm.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            assertTrue(running.nextReport().outcome().startsWith("VMM exited"));
            assertGoodVmmServed(running);
        }
    }

    @Test
    void shutdownEndsConnectedSessionsAndRemovesTheSocket() throws Exception {
        RunningHandler running = RunningHandler.start(config(TestSnapshots.memory(), Strategy.LAZY));
        try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
            assertTrue(vmm.touch(new long[] {1, 2, 3}, 1).ok());
            running.close();
            assertTrue(running.nextReport().outcome().startsWith("stopped"));
            assertFalse(Files.exists(running.socket));
            assertTrue(running.log().contains("not killing VMM pid"), "must never kill its own process");
        }
    }

    @Test
    void controlSocketRecordsAndWritesTheWorkingSet() throws Exception {
        Path ws = dir.resolve("controlled-ws.sabre");
        Path control = dir.resolve("control.sock");
        try (RunningHandler running = RunningHandler.start(config(TestSnapshots.memory(), Strategy.LAZY)
                .withWorkingSet(ws).withControl(control));
             SimulatedVmm vmm = SimulatedVmm.start(dir.resolve("uffd.sock"), TestSnapshots.memory(), 1)) {
            assertTrue(vmm.touch(new long[] {10, 11, 12}, 1).ok()); // before RECORD: not recorded
            assertTrue(command(control, "RECORD").startsWith("OK recording 1"));
            assertTrue(vmm.touch(new long[] {5000, 7, 5001, 9000}, 1).ok());
            assertEquals("OK " + ws, command(control, "STOP_RECORD"));
            assertTrue(command(control, "FLY").startsWith("ERR unknown command"));
            try (SnapshotReader reader = SnapshotReader.open(ws)) {
                assertEquals(List.of(new dev.sabre.format.PageRun(5000, 1), new dev.sabre.format.PageRun(7, 1),
                        new dev.sabre.format.PageRun(5001, 1), new dev.sabre.format.PageRun(9000, 1)), reader.prefetchOrder());
            }
        }
    }

    private static String command(Path control, String line) throws Exception {
        try (UnixSocket socket = UnixSocket.connect(control)) {
            socket.send((line + "\n").getBytes(StandardCharsets.UTF_8));
            return new String(socket.receive(4096, 0).payload(), StandardCharsets.UTF_8).trim();
        }
    }

    private void assertGoodVmmServedFromCleanPages(RunningHandler running) throws Exception {
        try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
            assertTrue(vmm.touch(new long[] {0, 1, 2, 3}, 1).ok());
        }
        assertEquals("VMM exited", running.nextReport().outcome());
    }

    private Path corruptFrameCopy() throws IOException {
        Path snapshot = dir.resolve("bad-frame.sabre");
        Files.copy(TestSnapshots.packed(CodecId.ZSTD, PackPolicy.FIXED, 16), snapshot);
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            // Frame 1 holds early non-zero pages, which a sequential touch reaches quickly.
            flipByte(snapshot, reader.frames().get(1).offset() + 5);
        }
        return snapshot;
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
            ch.write(b, offset);
        }
    }

    private static Process startVmmProcess(Path socket, long pages) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new java.util.ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), SimulatedVmm.class.getName(), socket.toString(),
                TestSnapshots.memory().toString()));
        if (pages >= 0) {
            command.add(Long.toString(pages));
        }
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }
}
