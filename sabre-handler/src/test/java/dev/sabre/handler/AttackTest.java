package dev.sabre.handler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.linux.EventFd;
import dev.sabre.linux.Fds;
import dev.sabre.linux.Memory;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handler under attack, on the real kernel: peers that connect and say nothing, descriptors that only
 * look like a userfaultfd, handshakes that arrive in parts, control clients that stall. Each attack costs
 * the attacker's connections alone bounded work, and an honest VMM is served meanwhile, byte for byte.
 */
class AttackTest {
    @TempDir
    Path dir;

    private HandlerConfig config(Strategy strategy) throws Exception {
        return HandlerConfig.of(dir.resolve("uffd.sock"), TestSnapshots.memory(), strategy)
                .withHandshakeTimeout(Duration.ofSeconds(3));
    }

    private static void assertHonestVmmServed(RunningHandler running, int regions) throws Exception {
        try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), regions)) {
            SimulatedVmm.TouchResult r = vmm.touch(new Random(5).longs(500, 0, vmm.pageCount()).toArray(), 2);
            assertTrue(r.ok(), r.toString());
        }
        assertEquals("VMM exited", running.nextReport().outcome());
    }

    /** Waits for {@code condition} (polled), failing with {@code what} after a generous bound. */
    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 1200 && !condition.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    private static long threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).count();
    }

    @Test
    void silentConnectionsCostNoThreadsAndDoNotLockOutAnHonestVmm() throws Exception {
        int silent = 3 * HandshakeReceiver.MAX_PENDING;
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY))) {
            List<UnixSocket> attackers = new ArrayList<>();
            try {
                for (int i = 0; i < silent; i++) {
                    attackers.add(UnixSocket.connect(running.socket));
                }
                await("the handler accepted the silent connections", () -> running.handler.pendingConnections()
                        == HandshakeReceiver.MAX_PENDING);
                assertEquals(0, threadsNamed("sabre-vmm-"), "a connection without a handshake must not get a thread");
                assertHonestVmmServed(running, 1);
                assertTrue(running.handler.pendingConnections() <= HandshakeReceiver.MAX_PENDING);
            } finally {
                for (UnixSocket s : attackers) {
                    s.close();
                }
            }
            await("pending connections drained after the attackers left", () -> running.handler.pendingConnections() == 0);
            long dropLines = running.log().lines().filter(l -> l.contains("connection dropped")).count();
            assertTrue(dropLines <= 10, "dropping " + silent + " connections must not log a line each: " + dropLines);
            assertHonestVmmServed(running, 1);
        }
    }

    @Test
    void aHandshakeNearTheSizeBoundArrivesWholeAcrossReads() throws Exception {
        // 512 regions make a ~55 KB handshake: more than one recvmsg returns with a descriptor attached.
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY))) {
            assertHonestVmmServed(running, 512);
        }
    }

    @Test
    void aHandshakeSentInPiecesIsAssembled() throws Exception {
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY));
             Userfaultfd uffd = Userfaultfd.create(true, false)) {
            uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
            long size = TestSnapshots.pageCount() * 4096;
            var guest = Memory.mapAnonymous(size);
            try {
                uffd.register(guest.address(), size, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
                byte[] json = Handshake.toJson(List.of(new dev.sabre.restore.GuestRegion(guest.address(), size, 0)), 4096)
                        .getBytes(StandardCharsets.UTF_8);
                try (UnixSocket vmm = UnixSocket.connect(running.socket)) {
                    vmm.send(java.util.Arrays.copyOf(json, 7), uffd.fd());
                    for (int i = 7; i < json.length; i += 5) {
                        vmm.send(java.util.Arrays.copyOfRange(json, i, Math.min(json.length, i + 5)));
                    }
                    await("the session started", () -> running.handler.activeSessions() == 1);
                }
                assertEquals("VMM exited", running.nextReport().outcome());
            } finally {
                Memory.munmap(guest);
            }
        }
    }

    @Test
    void descriptorsThatOnlyLookLikeAUserfaultfdAreRefused() throws Exception {
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY))) {
            String json = "[{\"base_host_virt_addr\":4096,\"size\":" + TestSnapshots.pageCount() * 4096
                    + ",\"offset\":0,\"page_size\":4096,\"page_size_kib\":4096}]";
            int memfd = Memory.memfdCreate("userfaultfd", 0);
            try (UnixSocket vmm = UnixSocket.connect(running.socket)) {
                vmm.send(json.getBytes(StandardCharsets.UTF_8), memfd);
                String why = running.nextDrop();
                assertTrue(why.contains("not a userfaultfd") && why.contains("memfd:userfaultfd"), why);
            } finally {
                Fds.closeQuietly(memfd);
            }
            try (Userfaultfd noRemove = Userfaultfd.create(true, false); UnixSocket vmm = UnixSocket.connect(running.socket)) {
                noRemove.api(0);
                vmm.send(json.getBytes(StandardCharsets.UTF_8), noRemove.fd());
                String why = running.nextDrop();
                assertTrue(why.contains("UFFD_FEATURE_EVENT_REMOVE"), why);
            }
            try (EventFd event = EventFd.create(true); UnixSocket vmm = UnixSocket.connect(running.socket)) {
                vmm.send(json.getBytes(StandardCharsets.UTF_8), event.fd());
                assertTrue(running.nextDrop().contains("not a userfaultfd"));
            }
            assertEquals(0, running.handler.activeSessions());
            assertHonestVmmServed(running, 1);
        }
    }

    @Test
    void stalledControlClientsDelayNobody() throws Exception {
        Path control = dir.resolve("control.sock");
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY).withControl(control));
             UnixSocket slow = UnixSocket.connect(control); UnixSocket deaf = UnixSocket.connect(control)) {
            slow.send("STA".getBytes(StandardCharsets.UTF_8)); // and never the rest of the line
            for (int i = 0; i < 2000; i++) {
                deaf.send("STATS\n".getBytes(StandardCharsets.UTF_8)); // and never reads a reply
            }
            ExecutorService pool = Executors.newFixedThreadPool(100);
            try {
                List<Future<String>> answers = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    answers.add(pool.submit(() -> command(control, "STATS")));
                }
                for (Future<String> a : answers) {
                    String answer = a.get();
                    assertTrue(answer.startsWith("OK 0 active") || answer.startsWith("ERR busy"), answer);
                }
            } finally {
                pool.shutdownNow();
            }
            assertTrue(command(control, "STATS").startsWith("OK 0 active"));
        }
    }

    @Test
    void finishedSessionsAreCountedNotKeptForever() throws Exception {
        Path control = dir.resolve("control.sock");
        try (RunningHandler running = RunningHandler.start(config(Strategy.LAZY).withControl(control))) {
            int sessions = PageFaultHandler.KEPT_REPORTS + 6;
            for (int i = 0; i < sessions; i++) {
                try (SimulatedVmm vmm = SimulatedVmm.start(running.socket, TestSnapshots.memory(), 1)) {
                    assertTrue(vmm.touch(new long[] {i}, 1).ok());
                }
                running.nextReport();
            }
            assertEquals(PageFaultHandler.KEPT_REPORTS, running.handler.reports().size());
            assertEquals(sessions, running.handler.finishedSessions());
            String stats = command(control, "STATS");
            assertTrue(stats.contains(sessions + " finished") && stats.contains("last " + PageFaultHandler.KEPT_REPORTS),
                    stats);
        }
    }

    private static String command(Path control, String line) throws Exception {
        try (UnixSocket socket = UnixSocket.connect(control)) {
            socket.send((line + "\n").getBytes(StandardCharsets.UTF_8));
            StringBuilder reply = new StringBuilder();
            while (reply.indexOf("\n") < 0) {
                var message = socket.receive(1 << 20, 0);
                if (message.isEndOfStream()) {
                    break;
                }
                reply.append(new String(message.payload(), StandardCharsets.UTF_8));
            }
            return reply.toString().trim();
        }
    }
}
