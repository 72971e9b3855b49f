package dev.sabre.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PollSetEventFdTest {

    @Test
    void eventFdCountsSignalsAndResetsOnRead() throws Exception {
        try (EventFd event = EventFd.create(true)) {
            assertEquals(0, event.read(), "non-blocking read of a zero counter");
            event.signal();
            event.add(41);
            assertEquals(42, event.read());
            assertEquals(0, event.read());
            assertTrue(Fds.isCloseOnExec(event.fd()));
            assertThrows(IllegalArgumentException.class, () -> event.add(0));
        }
    }

    @Test
    void blockingReadWaitsForASignal() throws Exception {
        try (Background background = new Background(); EventFd event = EventFd.create(false)) {
            CompletableFuture<Integer> tid = new CompletableFuture<>();
            CompletableFuture<Long> reader = background.run("reader", () -> {
                tid.complete(Libc.gettid());
                return event.read();
            });
            BlockedInKernel.await(tid.get(10, TimeUnit.SECONDS), BlockedInKernel.READ);
            assertFalse(reader.isDone(), "a read of an unsignalled eventfd blocks");
            event.add(3);
            assertEquals(3, reader.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void pollReportsWhichDescriptorsAreReady() throws Exception {
        try (EventFd a = EventFd.create(true);
             EventFd b = EventFd.create(true);
             Fds.Pipe pipe = Fds.pipe(FileIo.O_NONBLOCK);
             PollSet poll = new PollSet(3)) {
            int ia = poll.add(a.fd(), PollSet.POLLIN);
            int ib = poll.add(b.fd(), PollSet.POLLIN);
            int ip = poll.add(pipe.writeFd(), PollSet.POLLOUT);
            assertEquals(3, poll.size());
            assertEquals(b.fd(), poll.fd(ib));

            assertEquals(1, poll.poll(0), "only the pipe is writable");
            assertEquals(PollSet.POLLOUT, poll.revents(ip));
            assertFalse(poll.ready(ia));

            b.signal();
            assertEquals(2, poll.poll(1000));
            assertFalse(poll.ready(ia));
            assertEquals(PollSet.POLLIN, poll.revents(ib));

            b.read();
            Fds.closeQuietly(pipe.readFd()); // the write end now reports an error
            assertEquals(1, poll.poll(1000));
            assertTrue((poll.revents(ip) & PollSet.POLLERR) != 0, "revents " + poll.revents(ip));
            assertThrows(IndexOutOfBoundsException.class, () -> poll.revents(3));
            assertThrows(IllegalStateException.class, () -> poll.add(0, PollSet.POLLIN));
        }
    }

    @Test
    void pollTimesOut() throws Exception {
        try (EventFd event = EventFd.create(true); PollSet poll = new PollSet(1)) {
            poll.add(event.fd(), PollSet.POLLIN);
            long start = System.nanoTime();
            assertEquals(0, poll.poll(100));
            assertTrue(System.nanoTime() - start >= 90_000_000L, "returned before the time-out");
        }
    }

    @Test
    void pollingAClosedDescriptorSaysSo() throws Exception {
        EventFd event = EventFd.create(true);
        int fd = event.fd();
        event.close();
        try (PollSet poll = new PollSet(1)) {
            poll.add(fd, PollSet.POLLIN);
            assertEquals(1, poll.poll(0));
            assertEquals(PollSet.POLLNVAL, poll.revents(0));
        }
    }
}
