package dev.sabre.restore;

import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A restore in a process of its own, as the page-fault handler runs one: receives a userfaultfd and the
 * guest memory's address over a Unix socket (like Firecracker's handshake), restores the snapshot into
 * that other process's memory, and prints its own peak resident memory before and after, in bytes:
 * {@code hwm BEFORE AFTER}. Args: SNAPSHOT SOCKET THREADS.
 */
public final class RestoreChild {
    private RestoreChild() {
    }

    public static void main(String[] args) throws IOException {
        Path snapshot = Path.of(args[0]);
        int threads = Integer.parseInt(args[2]);
        try (UnixSocket socket = UnixSocket.connect(Path.of(args[1]))) {
            ReceivedMessage message = socket.receive(256, 1);
            String[] guest = new String(message.payload(), StandardCharsets.US_ASCII).trim().split(" ");
            try (Userfaultfd uffd = Userfaultfd.adopt(message.fds()[0]); SnapshotReader reader = SnapshotReader.open(snapshot)) {
                long before = peakResidentBytes();
                UffdInstaller installer = new UffdInstaller(uffd, GuestLayout.single(Long.parseLong(guest[0]),
                        Long.parseLong(guest[1])), new RemovedPages(reader.header().pageSize()), reader.header().pageSize());
                try (RestoreEngine engine = RestoreEngine.start(reader, installer, RestoreOptions.defaults().withThreads(threads))) {
                    RestoreMetrics m = engine.await();
                    System.out.println("installed " + m.bytesInstalled());
                }
                System.out.println("hwm " + before + " " + peakResidentBytes());
            }
            socket.send("done".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** VmHWM from /proc/self/status: the most resident memory this process has had. */
    static long peakResidentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("/proc/self/status has no VmHWM line");
    }
}
