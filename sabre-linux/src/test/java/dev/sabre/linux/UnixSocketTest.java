package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UnixSocketTest {
    @TempDir
    Path dir;

    @Test
    void descriptorsAndPayloadCrossTheSocketAndThePeerIsKnown() throws Exception {
        Path path = dir.resolve("uffd.sock");
        byte[] payload = "[{\"base_host_virt_addr\":140000000000,\"size\":4096,\"offset\":0,\"page_size\":4096}]"
                .getBytes(UTF_8);
        byte[] contents = "memory file contents".getBytes(UTF_8);
        try (Background background = new Background();
             UnixSocket listener = UnixSocket.listen(path, 1);
             Arena arena = Arena.ofConfined()) {
            CompletableFuture<UnixSocket> accepted = background.run("accept", listener::accept);
            int memfd = Memory.memfdCreate("passed", Memory.MFD_CLOEXEC);
            EventFd eventfd = EventFd.create(true);
            try (UnixSocket client = UnixSocket.connect(path);
                 UnixSocket server = accepted.get(10, TimeUnit.SECONDS)) {
                FileIo.writeFully(memfd, arena.allocateFrom(JAVA_BYTE, contents), 0);
                client.send(payload, memfd, eventfd.fd());

                PeerCredentials peer = server.peerCredentials();
                assertEquals(ProcessHandle.current().pid(), peer.pid());
                Path probe = Files.createFile(dir.resolve("owner"));
                assertEquals((int) Files.getAttribute(probe, "unix:uid"), peer.uid());
                assertEquals((int) Files.getAttribute(probe, "unix:gid"), peer.gid());

                ReceivedMessage message = server.receive(4096, 4);
                try {
                    assertArrayEquals(payload, message.payload());
                    assertEquals(2, message.fds().length);
                    int receivedMemfd = message.fds()[0];
                    assertNotEquals(memfd, receivedMemfd, "the receiver gets its own descriptor");
                    assertTrue(Fds.isCloseOnExec(receivedMemfd));
                    assertEquals(contents.length, FileIo.size(receivedMemfd));
                    MemorySegment read = arena.allocate(contents.length);
                    FileIo.readFully(receivedMemfd, read, 0);
                    assertArrayEquals(contents, read.toArray(JAVA_BYTE));
                    // The second descriptor is the same eventfd: a signal through one is read through the other.
                    eventfd.signal();
                    try (EventFd sameCounter = EventFd.adopt(message.fds()[1])) {
                        assertEquals(1, sameCounter.read());
                    }
                } finally {
                    Fds.closeQuietly(message.fds()[0]);
                }

                client.shutdown(UnixSocket.SHUT_WR);
                assertTrue(server.receive(16, 1).isEndOfStream());
            } finally {
                Fds.close(memfd);
                eventfd.close();
            }
        }
    }

    @Test
    void moreDescriptorsThanAllowedIsAnErrorAndLeavesNothingOpen() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.pair()) {
            int memfd = Memory.memfdCreate("x", Memory.MFD_CLOEXEC);
            try {
                pair.first().send(new byte[] {1}, memfd, memfd, memfd);
                LinuxException e = assertThrows(LinuxException.class, () -> pair.second().receive(8, 2));
                assertEquals(Errno.EMSGSIZE, e.errno());
                assertTrue(e.getMessage().contains("MSG_CTRUNC"), e.getMessage());

                pair.first().send(new byte[] {2}, memfd);
                LinuxException none = assertThrows(LinuxException.class, () -> pair.second().receive(8, 0));
                assertEquals(Errno.EMSGSIZE, none.errno());
            } finally {
                Fds.close(memfd);
            }
        }
    }

    @Test
    void longPayloadsArriveInPieces() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.pair()) {
            byte[] data = new byte[10_000];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) i;
            }
            pair.first().send(data);
            byte[] first = pair.second().receive(6_000, 0).payload();
            byte[] rest = pair.second().receive(6_000, 0).payload();
            assertEquals(6_000, first.length);
            assertEquals(4_000, rest.length);
            assertEquals(data[5_999], first[5_999]);
            assertEquals(data[6_000], rest[0]);
        }
    }

    @Test
    void shutdownWakesAThreadBlockedInAccept() throws Exception {
        try (Background background = new Background();
             UnixSocket listener = UnixSocket.listen(dir.resolve("s"), 4)) {
            CompletableFuture<Integer> tid = new CompletableFuture<>();
            CompletableFuture<UnixSocket> accepted = background.run("accept", () -> {
                tid.complete(Libc.gettid());
                return listener.accept();
            });
            BlockedInKernel.await(tid.get(10, TimeUnit.SECONDS), BlockedInKernel.ACCEPT4);
            listener.shutdown(UnixSocket.SHUT_RDWR);
            ExecutionException e = assertThrows(ExecutionException.class, () -> accepted.get(10, TimeUnit.SECONDS));
            LinuxException cause = assertInstanceOf(LinuxException.class, e.getCause());
            assertEquals(Errno.EINVAL, cause.errno());
        }
    }

    @Test
    void acceptCanBeAwaitedTogetherWithAStopSignal() throws Exception {
        try (UnixSocket listener = UnixSocket.listen(dir.resolve("p"), 4);
             EventFd stop = EventFd.create(true);
             PollSet poll = new PollSet(2)) {
            int socketIndex = poll.add(listener.fd(), PollSet.POLLIN);
            int stopIndex = poll.add(stop.fd(), PollSet.POLLIN);
            assertEquals(0, poll.poll(50));

            try (UnixSocket client = UnixSocket.connect(dir.resolve("p"))) {
                assertEquals(1, poll.poll(5_000));
                assertEquals(PollSet.POLLIN, poll.revents(socketIndex));
                try (UnixSocket server = listener.accept(true)) {
                    assertTrue((Fds.getFlags(server.fd()) & FileIo.O_NONBLOCK) != 0);
                    assertTrue(Fds.isCloseOnExec(server.fd()));
                    LinuxException e = assertThrows(LinuxException.class, () -> server.receive(8, 0));
                    assertEquals(Errno.EAGAIN, e.errno());
                    client.send(new byte[] {42});
                    assertArrayEquals(new byte[] {42}, server.receive(8, 0).payload());
                }
            }

            int pollingThread = Libc.gettid();
            Thread signaller = Thread.ofPlatform().daemon().start(() -> {
                try {
                    BlockedInKernel.await(pollingThread, BlockedInKernel.POLL, BlockedInKernel.PPOLL);
                    stop.signal();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals(1, poll.poll(5_000));
            assertTrue(poll.ready(stopIndex));
            assertEquals(0, poll.revents(socketIndex));
            signaller.join();
        }
    }

    @Test
    void addressProblemsNameThePath() throws Exception {
        Path path = dir.resolve("taken");
        try (UnixSocket listener = UnixSocket.listen(path, 1)) {
            assertTrue(listener.fd() >= 0);
            LinuxException inUse = assertThrows(LinuxException.class, () -> UnixSocket.listen(path, 1));
            assertEquals(Errno.EADDRINUSE, inUse.errno());
            assertTrue(inUse.getMessage().startsWith("bind(" + path + ")"), inUse.getMessage());
        }
        LinuxException refused = assertThrows(LinuxException.class, () -> UnixSocket.connect(dir.resolve("none")));
        assertEquals(Errno.ENOENT, refused.errno());
        Path tooLong = dir.resolve("x".repeat(120));
        LinuxException longName = assertThrows(LinuxException.class, () -> UnixSocket.listen(tooLong, 1));
        assertEquals(Errno.ENAMETOOLONG, longName.errno());
    }

    @Test
    void sendingToAClosedPeerIsAnErrorNotASignal() throws Exception {
        try (UnixSocket.Pair pair = UnixSocket.pair()) {
            pair.second().close();
            LinuxException e = assertThrows(LinuxException.class, () -> pair.first().send(new byte[] {1}));
            assertEquals(Errno.EPIPE, e.errno());
        }
    }
}
