package dev.sabre.handler;

import dev.sabre.format.PageRun;
import dev.sabre.format.Packer;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Errno;
import dev.sabre.linux.EventFd;
import dev.sabre.linux.Fds;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.Processes;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UffdEvent;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.restore.GuestLayout;
import dev.sabre.restore.GuestRegion;
import dev.sabre.restore.RawRestore;
import dev.sabre.restore.RemovedPages;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreMetrics;
import dev.sabre.restore.UffdInstaller;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One VMM, from its handshake to its exit: receives and validates the handshake, then runs the event loop
 * that serves its page faults with the configured {@link Strategy} while a prefetch or eager restore
 * streams pages in on other threads. Remove events make pages read as zeros from then on. If the VMM cannot
 * be served any more (a corrupt frame, a fault outside its regions, an unexpected kernel error) it is killed
 * rather than left hanging, and the session ends with a log line saying why.
 */
final class Session {
    private static final int MAX_HANDSHAKE = 64 * 1024;
    private static final int MAX_EVENTS = 64;

    private final int id;
    private final UnixSocket connection;
    private final MemorySources sources;
    private final HandlerConfig config;
    private final Consumer<SessionReport> onEnd;
    private final WorkingSetRecorder recorder = new WorkingSetRecorder();
    private final FaultLatencies latencies = new FaultLatencies();
    private final EventFd wake;
    private final ArrayDeque<UffdEvent.PageFault> pending = new ArrayDeque<>();
    /** Faults held back while an eager restore runs, answered when it is done. */
    private final ArrayDeque<Deferred> deferred = new ArrayDeque<>();
    private volatile boolean stopRequested;
    private boolean wakeClosed;
    private long readAtStart;
    private volatile String stopReason;
    private volatile int pid = -1;
    private Userfaultfd uffd;
    private GuestLayout layout;
    private RemovedPages removed;
    private UffdInstaller installer;
    private RestoreEngine engine;
    private CompletableFuture<RestoreMetrics> prefetch;
    private RestoreMetrics restoreMetrics;
    private boolean eagerDone;
    private long removeEvents;
    private long installedByFaults;
    private Path writtenWorkingSet;

    private record Deferred(long address, long receivedNanos) {}

    /** Thrown when the VMM can no longer be served; the session then kills it. */
    private static final class Unservable extends IOException {
        Unservable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    Session(int id, UnixSocket connection, MemorySources sources, HandlerConfig config, Consumer<SessionReport> onEnd)
            throws LinuxException {
        this.id = id;
        this.connection = connection;
        this.sources = sources;
        this.config = config;
        this.onEnd = onEnd;
        this.wake = EventFd.create(true);
        if (config.strategy() == Strategy.REAP_RECORD) {
            recorder.start();
        }
    }

    int id() {
        return id;
    }

    int pid() {
        return pid;
    }

    /** Asks the session to end (handler shutdown); a VMM still connected is killed, since nobody will serve it. */
    void stop(String reason) {
        stopReason = reason;
        stopRequested = true;
        signal();
    }

    /** RECORD: starts recording this VMM's faults afresh (any strategy). */
    void startRecording() {
        recorder.start();
    }

    /** STOP_RECORD: stops recording and writes the working set; returns where, or null if nothing was recorded. */
    Path stopRecording() throws IOException {
        List<PageRun> runs = recorder.stop();
        if (runs.isEmpty()) {
            return null;
        }
        Path out = workingSetPath();
        Packer.Result result = WorkingSetWriter.write(runs, sources.memory(), sources.memoryPath(), out,
                config.wsCodec(), config.wsLevel());
        writtenWorkingSet = out;
        log("wrote working set of %d pages (%d runs, %d bytes) to %s", result.stats().storedPages()
                + result.stats().zeroPages() + result.stats().copyPages(), runs.size(), result.stats().fileBytes(), out);
        return out;
    }

    private Path workingSetPath() {
        Path ws = config.workingSet() != null ? config.workingSet() : Path.of(sources.memoryPath() + ".ws.sabre");
        if (id == 1) {
            return ws;
        }
        String name = ws.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String numbered = dot > 0 ? name.substring(0, dot) + "." + id + name.substring(dot) : name + "." + id;
        return ws.resolveSibling(numbered);
    }

    /** Runs the session to its end on the calling thread; never throws. */
    void run() {
        String outcome;
        try {
            try {
                pid = connection.peerCredentials().pid();
            } catch (LinuxException e) {
                pid = -1;
            }
            outcome = serve();
        } catch (HandshakeException e) {
            outcome = "refused: " + e.getMessage();
            log("refused: %s", e.getMessage());
            if (uffd != null) {
                killVmm("its handshake was refused and it would wait for pages forever");
            }
        } catch (Unservable e) {
            outcome = "cannot be served: " + e.getMessage();
            log("cannot be served: %s", e.getMessage());
            killVmm("it cannot be served");
        } catch (Throwable t) {
            outcome = "handler error: " + t;
            log("handler error: %s", t);
            killVmm("the handler failed");
        }
        finish(outcome);
    }

    private String serve() throws IOException {
        receiveHandshake();
        readAtStart = sources.lazy().bytesRead();
        startStrategy();
        try (PollSet poll = new PollSet(3)) {
            int uffdIndex = poll.add(uffd.fd(), PollSet.POLLIN);
            int vmmIndex = poll.add(connection.fd(), PollSet.POLLIN);
            int wakeIndex = poll.add(wake.fd(), PollSet.POLLIN);
            while (true) {
                while (!pending.isEmpty()) {
                    UffdEvent.PageFault fault = pending.poll();
                    serveFault(fault.address(), System.nanoTime());
                }
                poll.poll(-1);
                if (poll.ready(wakeIndex)) {
                    wake.read();
                    if (stopRequested) {
                        killVmm(stopReason);
                        return "stopped: " + stopReason;
                    }
                    checkPrefetch();
                }
                if (poll.ready(uffdIndex)) {
                    if ((poll.revents(uffdIndex) & (PollSet.POLLERR | PollSet.POLLHUP)) != 0) {
                        return "VMM exited (userfaultfd hung up)";
                    }
                    handleEvents(readEvents());
                }
                if (poll.ready(vmmIndex)) {
                    ReceivedMessage message = connection.receive(4096, 4);
                    message.closeFds();
                    if (message.isEndOfStream()) {
                        return "VMM exited";
                    }
                }
            }
        } catch (LinuxException e) {
            if (e.errno() == Errno.ESRCH) {
                return "VMM exited";
            }
            throw new Unservable(e.getMessage(), e);
        }
    }

    private void receiveHandshake() throws IOException {
        try (PollSet poll = new PollSet(2)) {
            poll.add(connection.fd(), PollSet.POLLIN);
            poll.add(wake.fd(), PollSet.POLLIN);
            if (poll.poll(config.handshakeTimeout().toMillis()) == 0) {
                throw new HandshakeException("no handshake within " + config.handshakeTimeout().toMillis() + " ms");
            }
            if (stopRequested) {
                throw new HandshakeException("handler shutting down before the handshake");
            }
        }
        ReceivedMessage message;
        try {
            message = connection.receive(MAX_HANDSHAKE, 4);
        } catch (LinuxException e) {
            throw new HandshakeException("cannot receive the handshake: " + e.getMessage());
        }
        if (message.isEndOfStream()) {
            throw new HandshakeException("VMM disconnected before sending its handshake");
        }
        if (message.fds().length != 1) {
            message.closeFds();
            throw new HandshakeException("handshake carried " + message.fds().length
                    + " file descriptors, expected exactly 1 (the userfaultfd)");
        }
        int fd = message.fds()[0];
        if (!isUserfaultfd(fd)) {
            Fds.closeQuietly(fd);
            throw new HandshakeException("the descriptor sent with the handshake is not a userfaultfd");
        }
        uffd = Userfaultfd.adopt(fd);
        Fds.setNonBlocking(fd, true);
        String json = new String(message.payload(), StandardCharsets.UTF_8);
        Handshake handshake = Handshake.parse(json, sources.memorySize(), sources.pageSize());
        layout = new GuestLayout(handshake.regions());
        removed = new RemovedPages(sources.pageSize());
        installer = new UffdInstaller(uffd, layout, removed, sources.pageSize());
        installer.setEventReader(Thread.currentThread(), this::drainEvents);
        log("connected: %d region(s), %d MiB, strategy %s", handshake.regions().size(),
                sources.memorySize() >> 20, config.strategy());
    }

    private static boolean isUserfaultfd(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().contains("userfaultfd");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Prefetching strategies start streaming at once; eager waits for the first fault. */
    private void startStrategy() throws IOException {
        switch (config.strategy()) {
            case SABRE -> startEngine(sources.snapshot());
            case REAP, REAP_COMPRESSED -> startEngine(sources.workingSet().reader());
            default -> { }
        }
    }

    private void startEngine(SnapshotReader reader) throws IOException {
        engine = RestoreEngine.start(reader, installer, config.restore());
        prefetch = engine.completion();
        prefetch.whenComplete((m, e) -> signal());
    }

    private void startEager() throws IOException {
        SnapshotReader snapshot = sources.snapshot();
        if (snapshot != null) {
            startEngine(snapshot);
            return;
        }
        prefetch = new CompletableFuture<>();
        CompletableFuture<RestoreMetrics> future = prefetch;
        Thread.ofPlatform().daemon().name("sabre-eager-" + id).start(() -> {
            try {
                future.complete(RawRestore.restore(sources.memoryPath(), sources.memorySize(), installer, config.restore()));
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        });
        prefetch.whenComplete((m, e) -> signal());
    }

    /** Called when the prefetch or eager restore may have ended. */
    private void checkPrefetch() throws IOException {
        if (prefetch == null || !prefetch.isDone() || restoreMetrics != null || eagerDone) {
            return;
        }
        try {
            restoreMetrics = prefetch.join();
            log("%s done: %s", config.strategy() == Strategy.EAGER ? "eager restore" : "prefetch", restoreMetrics.toLine());
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof LinuxException le && (le.errno() == Errno.ESRCH || le.errno() == Errno.ENOENT)) {
                return; // the VMM exited or unmapped its memory; the connection will say so
            }
            throw new Unservable("restore failed: " + cause.getMessage(), cause);
        }
        if (config.strategy() == Strategy.EAGER) {
            eagerDone = true;
            while (!deferred.isEmpty()) {
                Deferred fault = deferred.poll();
                serveFault(fault.address(), fault.receivedNanos());
            }
        }
    }

    private void handleEvents(List<UffdEvent> events) throws IOException {
        for (UffdEvent event : events) {
            switch (event) {
                case UffdEvent.PageFault fault -> serveFault(fault.address(), System.nanoTime());
                case UffdEvent.Remove r -> { } // applied when read
                case UffdEvent.Fork f -> Fds.closeQuietly(f.userfaultfd());
                case UffdEvent.Unmap u -> log("guest memory 0x%x..0x%x unmapped", u.start(), u.end());
                case UffdEvent.Remap r -> throw new Unservable("guest memory moved with mremap; not supported", null);
                case UffdEvent.Unknown u -> log("ignoring unknown userfaultfd event type %d", u.type());
            }
        }
    }

    /**
     * Reads pending events and applies REMOVEs before any fill can run again (see
     * {@link RemovedPages#exclusively}); other events are returned to be handled in order.
     */
    private List<UffdEvent> readEvents() throws IOException {
        return removed.exclusively(() -> {
            List<UffdEvent> events = uffd.readEvents(MAX_EVENTS);
            for (UffdEvent event : events) {
                if (event instanceof UffdEvent.Remove r) {
                    markRemoved(r.start(), r.end());
                }
            }
            return events;
        });
    }

    /** Reads events when a fill on this thread stalls (EAGAIN): removes now, faults later. */
    private void drainEvents() throws IOException {
        List<UffdEvent> events = readEvents();
        if (events.isEmpty()) {
            Thread.yield();
        }
        for (UffdEvent event : events) {
            if (event instanceof UffdEvent.PageFault fault) {
                pending.add(fault);
            } else if (!(event instanceof UffdEvent.Remove)) {
                handleEvents(List.of(event));
            }
        }
    }

    private void markRemoved(long start, long end) {
        removeEvents++;
        for (GuestRegion r : layout.regions()) {
            long from = Math.max(start, r.hostAddress()), to = Math.min(end, r.hostEnd());
            if (from < to) {
                removed.markRemoved(r.fileOffset() + (from - r.hostAddress()), to - from);
            }
        }
    }

    private void serveFault(long address, long receivedNanos) throws IOException {
        int pageSize = sources.pageSize();
        long offset = layout.fileOffsetOf(address & -pageSize);
        if (offset < 0) {
            throw new Unservable("page fault at 0x" + Long.toHexString(address) + ", outside every region of the handshake", null);
        }
        if (config.strategy() == Strategy.EAGER && !eagerDone) {
            if (prefetch == null) {
                startEager();
            }
            deferred.add(new Deferred(address, receivedNanos));
            return;
        }
        long page = offset / pageSize;
        try {
            if (removed.contains(offset)) {
                installedByFaults += installer.zero(offset, pageSize);
            } else {
                recorder.record(page); // before the page goes in: the guest may act on it at once
                installedByFaults += sources.lazy().serve(page, installer);
                if (engine != null && !engine.isDone()) {
                    engine.prioritize(page);
                }
            }
        } catch (LinuxException e) {
            if (e.errno() == Errno.ENOENT) {
                return; // the VMM unmapped this memory (it is exiting): nobody waits for the page
            }
            throw e;
        } catch (IOException e) {
            throw new Unservable("page " + page + ": " + e.getMessage(), e);
        }
        latencies.add(System.nanoTime() - receivedNanos);
    }

    private void killVmm(String why) {
        if (!config.killUnservable()) {
            log("not killing VMM pid %d (%s): disabled by configuration", pid, why);
        } else if (pid <= 0) {
            log("cannot kill the VMM (%s): its pid is unknown", why);
        } else if (pid == Processes.getpid()) {
            log("not killing VMM pid %d (%s): it is this process", pid, why);
        } else {
            try {
                Processes.kill(pid, Processes.SIGKILL);
                log("killed VMM pid %d: %s", pid, why);
            } catch (LinuxException e) {
                log("could not kill VMM pid %d: %s", pid, e.getMessage());
            }
        }
    }

    private void finish(String outcome) {
        if (installer != null) {
            installer.abort(); // a prefetch still running stops at its next fill
        }
        if (engine != null) {
            engine.close();
        } else if (prefetch != null) {
            prefetch.handle((m, e) -> null).join(); // a raw eager restore fails fast once the VMM is gone
        }
        if (restoreMetrics == null && prefetch != null && !prefetch.isCompletedExceptionally()) {
            restoreMetrics = prefetch.join();
        }
        if (recorder.isRecording()) {
            try {
                stopRecording();
            } catch (IOException | RuntimeException e) {
                log("could not write the working set: %s", e.getMessage());
            }
        }
        if (uffd != null) {
            try {
                uffd.close();
            } catch (LinuxException e) {
                log("closing the userfaultfd: %s", e.getMessage());
            }
        }
        synchronized (wake) {
            wakeClosed = true;
            try {
                connection.close();
                wake.close();
            } catch (LinuxException e) {
                log("closing: %s", e.getMessage());
            }
        }
        long installed = installedByFaults + (engine != null ? engine.bytesInstalled()
                : restoreMetrics != null ? restoreMetrics.bytesInstalled() : 0);
        long read = sources.lazy().bytesRead() - readAtStart + (restoreMetrics != null ? restoreMetrics.bytesRead() : 0);
        SessionReport report = new SessionReport(id, pid, config.strategy(), outcome, latencies.count(),
                latencies.percentileUs(50), latencies.percentileUs(99), latencies.maxUs(), removeEvents, read,
                installed, restoreMetrics, writtenWorkingSet);
        config.log().println("sabre handler: " + report.toLine());
        onEnd.accept(report);
    }

    /** Wakes the event loop; safe from any thread, also after the session closed its eventfd. */
    private void signal() {
        synchronized (wake) {
            if (wakeClosed) {
                return;
            }
            try {
                wake.signal();
            } catch (LinuxException e) {
                // cannot happen on an open eventfd short of overflow; the loop polls again anyway
            }
        }
    }

    private void log(String format, Object... args) {
        config.log().println("sabre handler: vmm " + id + (pid > 0 ? " (pid " + pid + ")" : "") + ": "
                + String.format(format, args));
    }
}
