package dev.sabre.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FdsProcessesTest {

    @Test
    void pipesDupsAndFlags() throws Exception {
        try (Fds.Pipe pipe = Fds.pipe(0); Arena arena = Arena.ofConfined()) {
            assertTrue(Fds.isCloseOnExec(pipe.readFd()));
            assertEquals(0, Fds.getFlags(pipe.readFd()) & FileIo.O_NONBLOCK);

            Fds.setNonBlocking(pipe.readFd(), true);
            assertTrue((Fds.getFlags(pipe.readFd()) & FileIo.O_NONBLOCK) != 0);
            MemorySegment buffer = arena.allocate(16);
            assertEquals(Errno.EAGAIN, assertThrows(LinuxException.class, () -> Fds.read(pipe.readFd(), buffer)).errno());

            Fds.setCloseOnExec(pipe.writeFd(), false);
            assertFalse(Fds.isCloseOnExec(pipe.writeFd()));
            Fds.setCloseOnExec(pipe.writeFd(), true);

            int copy = Fds.dup(pipe.writeFd());
            try {
                assertNotEquals(pipe.writeFd(), copy);
                assertTrue(Fds.isCloseOnExec(copy));
                assertEquals(3, Fds.write(copy, arena.allocateFrom(JAVA_BYTE, new byte[] {1, 2, 3})));
            } finally {
                Fds.close(copy);
            }
            assertEquals(3, Fds.read(pipe.readFd(), buffer));
            assertEquals(3, buffer.get(JAVA_BYTE, 2));
        }
    }

    @Test
    void closingTwiceIsEbadf() throws Exception {
        Fds.Pipe pipe = Fds.pipe(0);
        Fds.close(pipe.readFd());
        Fds.close(pipe.writeFd());
        assertEquals(Errno.EBADF, assertThrows(LinuxException.class, () -> Fds.close(pipe.readFd())).errno());
    }

    @Test
    void processIds() throws Exception {
        assertEquals(ProcessHandle.current().pid(), Processes.getpid());
        int[] otherTid = new int[1];
        Thread thread = Thread.ofPlatform().start(() -> otherTid[0] = Processes.gettid());
        thread.join();
        assertNotEquals(Processes.gettid(), otherTid[0]);
        assertTrue(otherTid[0] > 0);
        Processes.kill(Processes.getpid(), 0); // exists
    }

    @Test
    void killStopsAChildAndMissingProcessesAreEsrch() throws Exception {
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            Processes.kill((int) child.pid(), Processes.SIGKILL);
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
            assertEquals(128 + Processes.SIGKILL, child.exitValue());
        } finally {
            child.destroyForcibly();
        }
        int unusedPid = 4_194_305; // above PID_MAX_LIMIT, so never in use
        LinuxException e = assertThrows(LinuxException.class, () -> Processes.kill(unusedPid, 0));
        assertEquals(Errno.ESRCH, e.errno());
        assertEquals("kill(" + unusedPid + ", 0): No such process (errno 3)", e.getMessage());
    }
}
