package dev.sabre.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Memory;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a restore may cost in memory, whatever the snapshot: a valid 2 GiB snapshot of eight 256 MiB
 * frames that compress thousands to one (a file of a few tens of KB, every checksum right) restored into
 * another process's userfaultfd memory, the restoring process's peak RSS measured from /proc. Before
 * chunks were bounded by their decoded size, all eight frames fell into one 256 KiB read and one worker
 * decoded 2 GiB into one buffer.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class BoundedMemoryTest {
    /** Room for what is not the engine's decode buffers: the restoring JVM's own growth, stacks, the metadata. */
    private static final long FIXED_BOUND = 64L << 20;

    @Test
    void peakRssOfARestoreIsBoundedByThreadsTimesFramesNotByTheCompressionRatio(@TempDir Path dir) throws Exception {
        int frames = 8, threads = 2;
        Path snapshot = HostileSnapshots.hugeFrames(dir.resolve("hostile.sabre"), frames, (byte) 0x5a);
        long memorySize = frames * HostileSnapshots.FRAME_BYTES;
        assertTrue(Files.size(snapshot) < memorySize / 1000, "the snapshot compresses over 1000:1: " + Files.size(snapshot));
        try (SnapshotReader reader = SnapshotReader.open(snapshot)) {
            assertEquals(frames, reader.checkAllFrames(), "the snapshot is valid"); // what `sabre verify` checks
            RestorePlan plan = RestorePlan.of(reader, RestoreOptions.defaults().chunkBytes());
            assertEquals(frames, plan.chunks().size(), "one frame per chunk, though all of them fit in one read");
            assertEquals(HostileSnapshots.FRAME_BYTES, plan.maxRawBytes());
        }
        Path socketPath = dir.resolve("restore.sock");
        MemorySegment guest = Memory.mmap(0, memorySize, Memory.PROT_READ | Memory.PROT_WRITE,
                Memory.MAP_PRIVATE | Memory.MAP_ANONYMOUS | Memory.MAP_NORESERVE, -1, 0);
        Process child = null;
        try (Userfaultfd uffd = Userfaultfd.create(true, false); UnixSocket listener = UnixSocket.listen(socketPath, 1)) {
            uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
            uffd.register(guest.address(), memorySize, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
            child = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Xmx128m", "-XX:+UseSerialGC",
                    "-cp", System.getProperty("java.class.path"), RestoreChild.class.getName(),
                    snapshot.toString(), socketPath.toString(), Integer.toString(threads)))
                    .redirectErrorStream(true).start();
            try (UnixSocket peer = listener.accept()) {
                peer.send((guest.address() + " " + memorySize).getBytes(StandardCharsets.US_ASCII), uffd.fd());
                ReceivedMessage done = peer.receive(16, 0); // end of stream when the child failed
                String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(child.waitFor(60, TimeUnit.SECONDS) && child.exitValue() == 0 && !done.isEndOfStream(),
                        "the restoring process failed: " + output);
                String hwm = output.lines().filter(l -> l.startsWith("hwm ")).findFirst().orElseThrow();
                long before = Long.parseLong(hwm.split(" ")[1]), after = Long.parseLong(hwm.split(" ")[2]);
                long bound = threads * 2 * HostileSnapshots.FRAME_BYTES + FIXED_BOUND;
                System.out.printf("hostile %d MiB snapshot of %d MiB memory: restore peak RSS grew by %d MiB (bound %d MiB)%n",
                        Files.size(snapshot) >> 20, memorySize >> 20, (after - before) >> 20, bound >> 20);
                assertTrue(after - before <= bound, "peak RSS grew by %d MiB, more than %d threads x 2 x 256 MiB + %d MiB"
                        .formatted((after - before) >> 20, threads, FIXED_BOUND >> 20));
            }
            // Every page arrived: the last byte of each frame's range reads as the fill byte, without a fault.
            for (int f = 0; f < frames; f++) {
                long last = (f + 1) * HostileSnapshots.FRAME_BYTES - 1;
                assertEquals(0x5a, guest.get(ValueLayout.JAVA_BYTE, last) & 0xff, "byte " + last);
            }
        } finally {
            if (child != null) {
                child.destroyForcibly().waitFor();
            }
            Memory.munmap(guest);
        }
    }
}
