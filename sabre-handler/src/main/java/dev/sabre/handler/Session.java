package dev.sabre.handler;

import dev.sabre.format.PageRun;
import dev.sabre.format.Packer;
import dev.sabre.format.Progress;
import dev.sabre.format.SnapshotReader;
import dev.sabre.linux.Errno;
import dev.sabre.linux.EventFd;
import dev.sabre.linux.Fds;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.PidFd;
import dev.sabre.linux.PollSet;
import dev.sabre.linux.Processes;
import dev.sabre.linux.ReceivedMessage;
import dev.sabre.linux.UffdEvent;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.restore.BackgroundRestore;
import dev.sabre.restore.GuestLayout;
import dev.sabre.restore.GuestRegion;
import dev.sabre.restore.HugePagePrefetch;
import dev.sabre.restore.HugePageStager;
import dev.sabre.restore.RawRestore;
import dev.sabre.restore.RemovedPages;
import dev.sabre.restore.RestoreEngine;
import dev.sabre.restore.RestoreMetrics;
import dev.sabre.restore.UffdInstaller;
import dev.sabre.store.StorePages;
import dev.sabre.store.StoreTrace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One VMM, from its completed handshake to its exit: runs the event loop that serves its page faults with
 * its strategy's {@link StrategyPolicy} while a prefetch or eager restore streams pages in on other threads.
 * Remove events make pages read as zeros from then on. If the VMM cannot be served any more (a corrupt
 * frame, a fault outside its regions, an unexpected kernel error) it is killed through the pidfd taken
 * when it connected, rather than left hanging, and the session ends with a log line saying why.
 */
final class Session {
    private static final int MAX_EVENTS = 64;
    /** Ranged requests a restore from a store (working set or every page) keeps in flight. */
    private static final int STORE_PREFETCH_REQUESTS = 16;

    private final int id;
    private final UnixSocket connection;
    private final PidFd peer;
    private final Userfaultfd uffd;
    private final GuestLayout layout;
    private final MemorySources sources;
    private final HandlerConfig config;
    private final StrategyPolicy policy;
    private final Consumer<SessionReport> onEnd;
    private final WorkingSetRecorder recorder = new WorkingSetRecorder();
    private final FaultLatencies latencies = new FaultLatencies();
    private final EventFd wake;
    private final ArrayDeque<UffdEvent.PageFault> pending = new ArrayDeque<>();
    private final RemovedPages removed;
    private final UffdInstaller installer;
    /** The VMM's page size (the handshake's): the unit of faults, fills and removals. */
    private final int guestPageSize;
    /** Assembles a huge page from the snapshot's smaller pages; null unless the VMM's pages are the larger. */
    private final HugePageStager stager;
    /**
     * Huge pages this session's faults installed. Several vCPUs touching one huge page fault once each;
     * the later faults' threads were woken by the first install, so their events need no second assembly.
     * A removed huge page never comes back here: its faults are answered with zeros before the policy.
     */
    private final BitSet faultedUnits = new BitSet();
    private volatile boolean stopRequested;
    private boolean wakeClosed;
    private long readAtStart;
    private volatile String stopReason;
    private BackgroundRestore engine;
    private CompletableFuture<RestoreMetrics> restore;
    private RestoreMetrics restoreMetrics;
    private long removeEvents;
    private long installedByFaults;
    /** Faults left to the running prefetch ({@link #leaveToPrefetch}): each one's offset and arrival time. */
    private final List<long[]> leftToPrefetch = new ArrayList<>();
    private Path writtenWorkingSet;

    /** Thrown when the VMM can no longer be served; the session then kills it. */
    private static final class Unservable extends IOException {
        Unservable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * A session for a VMM whose handshake was checked: {@code uffd} is a real userfaultfd with remove events
     * and {@code handshake} covers the memory. The session owns the connection, the pidfd and the uffd.
     */
    Session(int id, UnixSocket connection, PidFd peer, Userfaultfd uffd, Handshake handshake, MemorySources sources,
            HandlerConfig config, Consumer<SessionReport> onEnd) throws LinuxException {
        this.id = id;
        this.connection = connection;
        this.peer = peer;
        this.uffd = uffd;
        this.sources = sources;
        this.config = config;
        this.onEnd = onEnd;
        this.policy = config.strategy().policy();
        this.wake = EventFd.create(true);
        Fds.setNonBlocking(uffd.fd(), true);
        this.layout = new GuestLayout(handshake.regions());
        this.guestPageSize = handshake.pageSize();
        this.removed = new RemovedPages(guestPageSize);
        this.installer = new UffdInstaller(uffd, layout, removed, guestPageSize);
        this.stager = guestPageSize > sources.pageSize() ? new HugePageStager(sources.lazy(), guestPageSize) : null;
    }

    int id() {
        return id;
    }

    int pid() {
        return peer.pid();
    }

    /** Asks the session to end (handler shutdown); a VMM still connected is killed, since nobody will serve it. */
    void stop(String reason) {
        stopReason = reason;
        stopRequested = true;
        signal();
    }

    /** Starts recording this VMM's faults afresh: RECORD (any strategy), or the reap-record strategy. */
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

    private Path workingSetPath() throws IOException {
        if (config.workingSet() == null && sources.memoryPath() == null) {
            throw new IOException("no --ws FILE to write the working set of " + config.store() + " to");
        }
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
        StoreTrace.event("session %d: thread runs", id);
        String outcome;
        try {
            installer.setEventReader(Thread.currentThread(), this::drainEvents);
            log("connected: %d region(s), %d MiB in %d KiB pages, strategy %s", layout.regions().size(),
                    sources.memorySize() >> 20, guestPageSize >> 10, config.strategy());
            outcome = serve();
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
        readAtStart = sources.lazy().bytesRead();
        policy.ready(this);
        try (PollSet poll = new PollSet(3)) {
            int uffdIndex = poll.add(uffd.fd(), PollSet.POLLIN);
            int vmmIndex = poll.add(connection.fd(), PollSet.POLLIN);
            int wakeIndex = poll.add(wake.fd(), PollSet.POLLIN);
            while (true) {
                while (!pending.isEmpty()) {
                    UffdEvent.PageFault fault = pending.poll();
                    fault(fault.address(), System.nanoTime());
                }
                poll.poll(-1);
                if (poll.ready(wakeIndex)) {
                    wake.read();
                    if (stopRequested) {
                        killVmm(stopReason);
                        return "stopped: " + stopReason;
                    }
                    checkRestore();
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

    // ---- the runtime strategies use -------------------------------------------------------------------

    MemorySources sources() {
        return sources;
    }

    /**
     * Installs every present page of {@code reader} in the background (on huge pages: every huge page holding
     * one, assembled from the working set and the memory); faults pull their chunk forward.
     */
    void prefetch(SnapshotReader reader) throws IOException {
        engine = stager == null ? RestoreEngine.start(reader, installer, config.restore())
                : HugePagePrefetch.start(HugePagePrefetch.unitsOf(reader, guestPageSize), sources.lazy(), installer,
                        guestPageSize, config.restore());
        watch(engine.completion());
    }

    /**
     * Installs a snapshot in a store in the background with the restore engine: its working set (the reap
     * strategies) or every page (eager, sabre), fetched with parallel ranged requests through the host cache,
     * each range checked, decoded and installed as it arrives; faults pull their range forward. On huge pages
     * the huge pages holding the working set (or every huge page) go in whole, assembled from the store's pages.
     */
    void restoreFromStore(StorePages stored, boolean workingSetOnly) {
        long requestsBefore = stored.requests();
        long fetchedBefore = stored.bytesRead(); // a transfer started when the VMM connected is counted when it ends
        StoreTrace.event("session %d: restore from the store starts", id);
        if (stager != null) {
            long[] units = workingSetOnly
                    ? HugePagePrefetch.unitsOf(stored.manifest().workingSet(), stored.pageSize(), guestPageSize)
                    : HugePagePrefetch.allUnits(sources.memorySize(), guestPageSize);
            engine = HugePagePrefetch.start(units, stored, installer, guestPageSize, config.restore());
        } else {
            engine = RestoreEngine.start(stored.restoreFrames(workingSetOnly, STORE_PREFETCH_REQUESTS), installer,
                    config.restore(), Progress.NONE);
        }
        engine.completion().thenAccept(m -> StoreTrace.event("session %d: restore from the store done: %s", id, m.toLine()));
        engine.completion().thenAccept(m -> log("%s from the store: %d bytes installed, %d bytes fetched, %d ranged "
                + "requests while it ran", workingSetOnly ? "working set" : "every page", m.bytesInstalled(),
                stored.bytesRead() - fetchedBefore, stored.requests() - requestsBefore));
        watch(engine.completion());
    }

    /** Installs the whole memory in the background: the snapshot through the engine, a raw file directly. */
    void restoreAll() throws IOException {
        if (stager != null) {
            engine = HugePagePrefetch.start(HugePagePrefetch.allUnits(sources.memorySize(), guestPageSize),
                    sources.memory(), installer, guestPageSize, config.restore());
            watch(engine.completion());
            return;
        }
        if (sources.storeSnapshot() != null) {
            restoreFromStore(sources.storeSnapshot(), false);
            return;
        }
        SnapshotReader snapshot = sources.snapshot();
        if (snapshot != null) {
            prefetch(snapshot);
            return;
        }
        inBackground("sabre-eager-", () -> RawRestore.restore(sources.memoryPath(), sources.memorySize(), installer,
                config.restore()));
    }

    /** Runs {@code work} on a thread of its own as this session's background restore. */
    private void inBackground(String threadName, Callable<RestoreMetrics> work) {
        CompletableFuture<RestoreMetrics> future = new CompletableFuture<>();
        watch(future);
        Thread.ofPlatform().daemon().name(threadName + id).start(() -> {
            try {
                future.complete(work.call());
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        });
    }

    /**
     * Serves a fault from the memory (the working set first, when there is one): the snapshot page holding
     * {@code offset}, or on huge pages the whole huge page assembled from the snapshot's pages. What is
     * installed is recorded first when recording, since the guest may act on it at once; so a replay
     * installs the same huge pages.
     */
    void serve(long offset, long receivedNanos) throws IOException {
        long page = offset / sources.pageSize();
        try {
            if (stager != null) {
                int unit = (int) (offset / guestPageSize);
                if (!faultedUnits.get(unit)) {
                    long perUnit = guestPageSize / sources.pageSize();
                    recorder.record(unit * perUnit, perUnit);
                    // A huge page the prefetch has already taken is answered by its copy: not read twice.
                    if (!(engine instanceof HugePagePrefetch prefetch) || prefetch.claimForFault(unit)) {
                        installedByFaults += stager.install(unit, installer);
                    }
                    faultedUnits.set(unit);
                }
            } else {
                recorder.record(page, 1);
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

    /**
     * Leaves a fault to the running prefetch when it will install the page (or has): pulls the page's chunk to the
     * front of the prefetch, whose install of the page wakes the faulting thread, instead of also decoding the page's
     * frame here for one page, which the prefetch decodes again. Under load such second decodes took as much CPU as
     * the prefetch itself (a fault per frame the guest reaches first). Returns false, doing nothing, when no
     * prefetch is running or it does not cover the page. Faults left to it are settled when it ends
     * ({@link #settleLeftToPrefetch}).
     */
    boolean leaveToPrefetch(long offset, long receivedNanos) {
        if (stager != null || !(engine instanceof RestoreEngine prefetch) || prefetch.isDone()) {
            return false;
        }
        long page = offset / sources.pageSize();
        if (!prefetch.covers(page)) {
            return false;
        }
        recorder.record(page, 1);
        prefetch.prioritize(page);
        leftToPrefetch.add(new long[] {offset, receivedNanos});
        return true;
    }

    /**
     * After the prefetch succeeded: its installs woke every thread whose fault was left to it, except on pages the
     * guest removed meanwhile (the prefetch skips those: they must read as zeros), which get zeros now; the others
     * are woken once more, which costs nothing if they run. Their latency is counted up to now, an upper bound.
     */
    private void settleLeftToPrefetch() throws IOException {
        for (long[] fault : leftToPrefetch) {
            long offset = fault[0];
            if (removed.contains(offset)) {
                installZeros(offset, fault[1]);
                continue;
            }
            GuestRegion region = layout.regionAtFileOffset(offset);
            try {
                uffd.wake(region.hostAddress() + (offset - region.fileOffset()), guestPageSize);
            } catch (LinuxException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
            }
            latencies.add(System.nanoTime() - fault[1]);
        }
        leftToPrefetch.clear();
    }

    /** {@link #serve}, or zeros if the page was removed since the fault arrived (deferred faults). */
    void serveUnlessRemoved(long offset, long receivedNanos) throws IOException {
        if (removed.contains(offset)) {
            installZeros(offset, receivedNanos);
        } else {
            serve(offset, receivedNanos);
        }
    }

    // ---- the event loop -------------------------------------------------------------------------------

    private void watch(CompletableFuture<RestoreMetrics> future) {
        restore = future;
        future.whenComplete((m, e) -> signal());
    }

    /** Called when the background restore may have ended. */
    private void checkRestore() throws IOException {
        if (restore == null || !restore.isDone() || restoreMetrics != null) {
            return;
        }
        try {
            restoreMetrics = restore.join();
            settleLeftToPrefetch();
            log("%s done: %s", config.strategy() == Strategy.EAGER ? "eager restore" : "prefetch", restoreMetrics.toLine());
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof LinuxException le && (le.errno() == Errno.ESRCH || le.errno() == Errno.ENOENT)) {
                return; // the VMM exited or unmapped its memory; the connection will say so
            }
            throw new Unservable("restore failed: " + cause.getMessage(), cause);
        }
        policy.restored(this);
    }

    private void fault(long address, long receivedNanos) throws IOException {
        long offset = layout.fileOffsetOf(address & -guestPageSize);
        if (offset < 0) {
            throw new Unservable("page fault at 0x" + Long.toHexString(address) + ", outside every region of the handshake", null);
        }
        if (removed.contains(offset)) {
            installZeros(offset, receivedNanos);
        } else {
            policy.fault(this, offset, receivedNanos);
        }
    }

    private void installZeros(long offset, long receivedNanos) throws IOException {
        try {
            installedByFaults += installer.zero(offset, guestPageSize);
        } catch (LinuxException e) {
            if (e.errno() == Errno.ENOENT) {
                return;
            }
            throw e;
        }
        latencies.add(System.nanoTime() - receivedNanos);
    }

    private void handleEvents(List<UffdEvent> events) throws IOException {
        for (UffdEvent event : events) {
            switch (event) {
                case UffdEvent.PageFault fault -> fault(fault.address(), System.nanoTime());
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

    private void killVmm(String why) {
        log("%s", kill(peer, config, why));
    }

    /**
     * Kills a VMM that would otherwise wait for pages forever, through the pidfd taken when it connected;
     * never this process (in-process VMMs in tests), and not when the configuration says so.
     *
     * @return one line saying what was done, for the log
     */
    static String kill(PidFd peer, HandlerConfig config, String why) {
        String who = peer.describe(); // before the kill: the name of a process that has exited is gone
        if (!config.killUnservable()) {
            return "not killing VMM " + who + " (" + why + "): disabled by configuration";
        }
        if (peer.pid() == Processes.getpid()) {
            return "not killing VMM " + who + " (" + why + "): it is this process";
        }
        try {
            return peer.signal(Processes.SIGKILL) ? "killed VMM " + who + ", the process that connected: " + why
                    : "VMM " + who + " had already exited (" + why + ")";
        } catch (LinuxException e) {
            return "could not kill VMM " + who + ": " + e.getMessage();
        }
    }

    private void finish(String outcome) {
        installer.abort(); // a prefetch still running stops at its next fill
        if (engine != null) {
            engine.close();
        } else if (restore != null) {
            restore.handle((m, e) -> null).join(); // a raw eager restore fails fast once the VMM is gone
        }
        if (restoreMetrics == null && restore != null && !restore.isCompletedExceptionally()) {
            restoreMetrics = restore.join();
        }
        if (recorder.isRecording()) {
            try {
                stopRecording();
            } catch (IOException | RuntimeException e) {
                log("could not write the working set: %s", e.getMessage());
            }
        }
        try {
            uffd.close();
        } catch (LinuxException e) {
            log("closing the userfaultfd: %s", e.getMessage());
        }
        synchronized (wake) {
            wakeClosed = true;
            try {
                connection.close();
                wake.close();
                peer.close();
            } catch (LinuxException e) {
                log("closing: %s", e.getMessage());
            }
        }
        long installed = installedByFaults + (engine != null ? engine.bytesInstalled()
                : restoreMetrics != null ? restoreMetrics.bytesInstalled() : 0);
        // A huge-page prefetch, and any restore from a store, reads through the faults' own source, whose count
        // already holds its reads.
        boolean counted = engine instanceof HugePagePrefetch || sources.lazy().countsRestoreReads();
        long read = sources.lazy().bytesRead() - readAtStart + (restoreMetrics != null && !counted ? restoreMetrics.bytesRead() : 0);
        SessionReport report = new SessionReport(id, peer.pid(), config.strategy(), outcome, latencies.count(),
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
        config.log().println("sabre handler: vmm " + id + " (pid " + peer.pid() + "): "
                + String.format(format, args));
    }
}
