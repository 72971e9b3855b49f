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
    void aThreadLowersItsOwnPriorityAndNoOtherThreads() throws Exception {
        int mine = nice(Processes.gettid());
        int[] tid = {0};
        Exception[] failure = {null};
        java.util.concurrent.CountDownLatch lowered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread thread = Thread.ofPlatform().start(() -> {
            try {
                tid[0] = Processes.gettid();
                Processes.setThreadNice(Processes.LOWEST_PRIORITY);
            } catch (Exception e) {
                failure[0] = e;
            }
            lowered.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        lowered.await();
        try {
            if (failure[0] != null) {
                throw failure[0];
            }
            assertEquals(Processes.LOWEST_PRIORITY, nice(tid[0]));
            assertEquals(mine, nice(Processes.gettid()), "the calling thread keeps its priority");
        } finally {
            done.countDown();
            thread.join();
        }
    }

    /** A process's CPU time counts at least what one of its threads measurably ran; a process that has exited has none. */
    @Test
    void cpuTimeOfAProcessCountsItsThreadsAndEndsWithIt() throws Exception {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long before = Processes.cpuNanos(Processes.getpid());
        long threadBefore = threads.getCurrentThreadCpuTime();
        long x = 0;
        for (int i = 0; i < 50_000_000; i++) {
            x += (long) i * i ^ x >>> 3;
        }
        long ran = threads.getCurrentThreadCpuTime() - threadBefore;
        long after = Processes.cpuNanos(Processes.getpid());
        assertTrue(x != 42 && ran > 0, "the loop ran");
        assertTrue(before > 0 && after - before >= ran * 9 / 10,
                "the process counted " + (after - before) + " ns while this thread ran " + ran + " ns");

        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        assertEquals(-1, Processes.cpuNanos(ended.pid()));
    }

    /** The nice value of thread {@code tid} of this process, from /proc (field 19 of its stat line). */
    private static int nice(int tid) throws Exception {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/task/" + tid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[16]); // fields after the command name start at field 3
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
