package dev.sabre.e2e;

import dev.sabre.format.FrameInfo;
import dev.sabre.format.SnapshotReader;
import dev.sabre.handler.Strategy;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.image.FunctionCatalog;
import dev.sabre.vmm.image.ImageBuilder;
import dev.sabre.vmm.qemu.QemuDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fibonacci function in a real QEMU microvm (TCG here): booted and snapshotted once, its working set
 * recorded, then restored with every strategy through a real page-fault handler process, checking the reply
 * after each restore; the end-to-end experiment on a small scale; and the bad inputs, each of which must give
 * a clear message and leave no VM, handler or socket behind. Every test has a time bound, and every VM is
 * stopped even when a test fails.
 */
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class EndToEndTest {
    private static final String FIB_10 = "fn: Fib: y = fib(x) | x: 10 y: 55.0 | runtime: python";
    private static final VmSettings SETTINGS = VmSettings.defaults().withMemoryMiB(256).withReadyTimeout(Duration.ofSeconds(180));

    private static ImageBuilder images;
    private static QemuDriver driver;
    private static Path snapshots;
    private static Orchestrator orchestrator;
    private static FunctionSnapshot snapshot;

    @BeforeAll
    @Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
    static void snapshotFibonacci() throws Exception {
        images = ImageBuilder.standard(StepLog.stderr());
        driver = new QemuDriver(images.cache(), StepLog.stderr());
        snapshots = Files.createTempDirectory("sabre-e2e-test-");
        orchestrator = new Orchestrator(driver, images, SETTINGS, StepLog.stderr(), snapshots);
        snapshot = orchestrator.recordWorkingSet(orchestrator.snapshot("fibonacci", "10"));
    }

    @AfterAll
    @Timeout(60)
    static void removeSnapshots() {
        WorkDir.deleteTree(snapshots);
    }

    /** No QEMU, no handler process and no handler work directory (sockets) survive a test. */
    @AfterEach
    @Timeout(60)
    void nothingLeftBehind() throws Exception {
        List<ProcessHandle> left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
        left.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), left.stream().map(p -> p.info().commandLine().orElse("pid " + p.pid())).toList(),
                "stray processes");
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            List<Path> handlers = tmp.filter(p -> p.getFileName().toString().startsWith("sabre-handler-"))
                    .filter(p -> Files.exists(p.resolve("uffd.sock"))).toList();
            assertEquals(List.of(), handlers, "stray handler sockets");
        }
    }

    @Test
    void snapshotHoldsEverythingTheStrategiesRead() {
        assertEquals(FIB_10, snapshot.reply());
        assertTrue(snapshot.deterministic());
        assertTrue(Files.isRegularFile(snapshot.sabreFile()));
        assertTrue(snapshot.hasWorkingSet());
        long raw = FunctionSnapshot.size(snapshot.rawWorkingSet());
        long compressed = FunctionSnapshot.size(snapshot.compressedWorkingSet());
        assertTrue(compressed > 0 && compressed < raw, "compressed " + compressed + " vs raw " + raw);
        assertTrue(FunctionSnapshot.size(snapshot.sabreFile()) < snapshot.memoryFileBytes());
        assertEquals(snapshot.reply(), FunctionSnapshot.load(snapshot.dir()).reply());
    }

    /**
     * A store that left the guest's page-cache pages on the function's real root file system image (STORE.md, "Disk
     * frames"): restored from it, fibonacci answers right, with those pages read from the image on faults (lazy),
     * with the working set prefetched from the store (reap-compressed), and pulled back whole (file).
     */
    @ParameterizedTest
    @EnumSource(value = Strategy.class, names = {"FILE", "LAZY", "REAP_COMPRESSED"})
    void restoresFromAStoreThatLeftPageCachePagesOnTheRootfs(Strategy strategy) {
        Measurement m;
        try (StoreTarget store = StoreTarget.open(snapshots.resolve("store").toString(), null, 0, StepLog.stderr())) {
            synchronized (EndToEndTest.class) {
                if (pushedWithDisk == null) {
                    pushedWithDisk = store.push(snapshot, Strategy.REAP_COMPRESSED, orchestrator.build("fibonacci").rootfs());
                }
            }
            assertTrue(pushedWithDisk.pagesOnDisk() > 1000, pushedWithDisk.pagesOnDisk() + " pages left on the rootfs");
            m = orchestrator.restoreOnceFromStore("fibonacci", snapshot, strategy, store);
        }
        assertEquals(FIB_10, m.reply(), strategy.label());
    }

    private static dev.sabre.store.Pusher.Result pushedWithDisk;

    @ParameterizedTest
    @EnumSource(Strategy.class)
    void everyStrategyRestoresAWorkingFunction(Strategy strategy) {
        Measurement m = orchestrator.restoreOnce("fibonacci", snapshot, strategy, false);
        assertEquals(FIB_10, m.reply());
        assertEquals(strategy.label(), m.strategy());
        assertTrue(m.restoreMicros() > 0 && m.coldStartMicros() > 0);
        assertEquals(m.restoreMicros() + m.coldStartMicros(), m.totalMicros());
        if (strategy.servedByHandler()) {
            assertTrue(m.faults() >= 0, "the handler reported its session");
        }
        if (strategy == Strategy.LAZY) {
            assertTrue(m.faults() > 100, "every page came from the handler: " + m.faults());
        }
    }

    /**
     * The guest on 2 MiB hugetlb pages, served by the handler with every strategy (file is refused: hugetlb memory
     * is filled only by copying): the reply is right, every fault brought a whole huge page, and the host's huge
     * pages are given back after each restore.
     */
    @ParameterizedTest
    @EnumSource(Strategy.class)
    void everyStrategyRestoresAWorkingFunctionOnHugePages(Strategy strategy) throws Exception {
        long pool = hugePagePool();
        if (!strategy.servedByHandler()) {
            VmmException e = assertThrows(VmmException.class,
                    () -> orchestrator.restoreOnce("fibonacci", snapshot, strategy, true));
            assertEquals("strategy file cannot use 2 MiB huge pages: the VMM maps the memory file itself, and hugetlb "
                    + "memory is filled only through a page-fault handler", e.getMessage());
            return;
        }
        Measurement m = orchestrator.restoreOnce("fibonacci", snapshot, strategy, true);
        assertEquals(pool, hugePagePool(), "huge pages given back");
        assertEquals(FIB_10, m.reply());
        assertEquals(2 << 20, m.pageSize());
        assertEquals(0, m.installedBytes() % (2 << 20), "only whole huge pages installed: " + m.installedBytes());
        assertTrue(m.installedBytes() > 0 && m.installedBytes() <= SETTINGS.memoryMiB() << 20, "installed " + m.installedBytes());
        if (strategy == Strategy.LAZY) {
            // 256 MiB are 128 huge pages; on 4 KiB pages the same restore takes thousands of faults.
            assertTrue(m.faults() > 0 && m.faults() <= 128, "faults " + m.faults());
            // At most one huge page per fault (a fault on a page another fault just installed installs nothing).
            assertTrue(m.installedBytes() <= m.faults() * (2 << 20), m.faults() + " faults, " + m.installedBytes() + " bytes");
        }
    }

    /**
     * A huge-page restore whose handler cannot serve the guest (every frame of its snapshot corrupted, so the first
     * huge page fails its checksum) fails in one line naming the handler, and the host gets its huge pages back.
     */
    @Test
    void hugePagesAreGivenBackWhenTheRestoreFails() throws Exception {
        long pool = hugePagePool();
        Path dir = Files.createDirectory(snapshots.resolve("corrupt-" + System.nanoTime()));
        Path corrupt = Files.copy(snapshot.sabreFile(), dir.resolve(snapshot.sabreFile().getFileName()));
        try (SnapshotReader reader = SnapshotReader.open(corrupt);
             FileChannel file = FileChannel.open(corrupt, StandardOpenOption.WRITE)) {
            // Frame 0 stays intact: the handler decodes it at start to load the codec, and the failure must
            // come once QEMU has handed its memory over.
            for (FrameInfo frame : reader.frames().subList(1, reader.frames().size())) {
                file.write(ByteBuffer.wrap(new byte[] {(byte) 0xA5, 0x5A}), frame.offset() + frame.storedLength() / 2);
            }
        }
        FunctionSnapshot damaged = new FunctionSnapshot(dir, snapshot.snapshot(), snapshot.input(), snapshot.reply(),
                snapshot.deterministic());
        VmmException e = assertThrows(VmmException.class,
                () -> orchestrator.restoreOnce("fibonacci", damaged, Strategy.SABRE, true));
        assertTrue(e.getMessage().matches("the page-fault handler \\(sabre, pid \\d+\\) killed the VM of fibonacci, "
                + "which cannot be served: .*checksum mismatch.*"), e.getMessage());
        assertEquals(pool, hugePagePool(), "huge pages given back");
    }

    private static long hugePagePool() throws Exception {
        return Long.parseLong(Files.readString(Path.of("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")).strip());
    }

    @Test
    void endToEndWritesTableCsvAndPlots(@TempDir Path out) throws Exception {
        Path root = out.resolve("snapshots");
        Orchestrator own = new Orchestrator(driver, images, SETTINGS, StepLog.stderr(), root);
        var options = new EndToEnd.Options(List.of("fibonacci"),
                List.of(Strategy.FILE, Strategy.REAP, Strategy.REAP_COMPRESSED), 2, 0, "10", false);
        EndToEnd.Result result = new EndToEnd(own, StepLog.stderr()).run(options);
        assertEquals(List.of(), result.failures());
        assertEquals(6, result.rows().size());
        assertTrue(result.rows().stream().allMatch(m -> m.reply().equals(FIB_10)));

        Path csv = out.resolve("e2e.csv");
        Report.writeCsv(csv, result.rows());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(7, lines.size());
        assertTrue(lines.getFirst().startsWith("function,vmm,strategy,page_size,repetition,restore_us,cold_start_us,total_us,"
                + "snapshot_bytes,ws_bytes"), lines.getFirst());
        assertTrue(lines.get(1).startsWith("fibonacci,qemu,file,4096,1,"), lines.get(1));

        String table = Report.table(result.rows());
        assertTrue(table.contains("reap-compressed"), table);
        assertTrue(Report.targets(result.rows()).startsWith("fibonacci: reap-compressed cold start"));
        for (Path png : Plots.write(out.resolve("plots"), result.rows(), result.snapshots())) {
            assertTrue(Files.size(png) > 1000, png.toString());
        }
        assertTrue(Files.exists(out.resolve("plots/e2e-fibonacci.png")));
    }

    @Test
    void handlerThatDiesTakesItsVmDown() throws Exception {
        try (HandlerProcess handler = orchestrator.startHandler(snapshot, Strategy.LAZY)) {
            // Kill the handler once the VMM it serves exists: the restore or the first invocation is then waiting for it.
            Thread killer = Thread.ofPlatform().daemon().start(() -> {
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (ProcessHandle.current().children().noneMatch(p -> p.info().command().orElse("").contains("qemu"))
                        && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                ProcessHandle.of(handler.pid()).ifPresent(ProcessHandle::destroyForcibly);
            });
            VmmException e = assertThrows(VmmException.class,
                    () -> orchestrator.coldStart(snapshot, Strategy.LAZY, false, handler, 1, false));
            killer.join();
            assertTrue(e.getMessage().contains("the page-fault handler (lazy, pid " + handler.pid() + ") died"), e.getMessage());
            assertFalse(handler.isAlive());
        }
    }

    @Test
    void unknownFunctionIsRefusedBeforeAnyWork() {
        VmmException e = assertThrows(VmmException.class, () -> orchestrator.run("no_such_function", ""));
        assertTrue(e.getMessage().startsWith("unknown function 'no_such_function'"), e.getMessage());
        var options = new EndToEnd.Options(List.of("fibonacci", "no_such_function"), Strategy.all(), 1, 0, "", false);
        VmmException e2e = assertThrows(VmmException.class, () -> new EndToEnd(orchestrator, StepLog.silent()).run(options));
        assertTrue(e2e.getMessage().contains("known functions: "), e2e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Strategy.parse("fast"));
    }

    @Test
    void imageThatFailsToBuildGivesOneClearLine(@TempDir Path functions) throws Exception {
        FunctionCatalog real = FunctionCatalog.locate();
        Files.createDirectories(functions.resolve(FunctionCatalog.COMMON));
        Files.copy(real.root().resolve(FunctionCatalog.COMMON).resolve("sabre_greeter.py"),
                functions.resolve(FunctionCatalog.COMMON).resolve("sabre_greeter.py"));
        Path broken = Files.createDirectories(functions.resolve("broken"));
        Files.copy(real.root().resolve("fibonacci/server.py"), broken.resolve("server.py"));
        Files.writeString(broken.resolve("packages"), "sabre-no-such-package\n");
        Orchestrator o = new Orchestrator(driver, new ImageBuilder(images.cache(), new FunctionCatalog(functions),
                StepLog.stderr()), SETTINGS, StepLog.stderr(), snapshots);
        VmmException e = assertThrows(VmmException.class, () -> o.snapshot("broken", ""));
        assertTrue(e.getMessage().contains("building the root file system of function broken failed"), e.getMessage());
    }

    @Test
    void vmThatDoesNotAnswerWithinItsBoundIsStopped() {
        Orchestrator impatient = new Orchestrator(driver, images, SETTINGS.withReadyTimeout(Duration.ofSeconds(2)),
                StepLog.stderr(), snapshots);
        VmmException e = assertThrows(VmmException.class, () -> impatient.run("fibonacci", "10"));
        assertTrue(e.getMessage().startsWith("VM fibonacci did not come up"), e.getMessage());
        assertTrue(e.getMessage().contains("within 2 s"), e.getMessage());
    }

    @Test
    void snapshotOfAnotherFunctionOrMemorySizeIsRefused() {
        VmmException function = assertThrows(VmmException.class,
                () -> orchestrator.restoreOnce("python_list", snapshot, Strategy.LAZY, false));
        assertTrue(function.getMessage().contains("is of function 'fibonacci', cannot restore function 'python_list'"),
                function.getMessage());
        Orchestrator bigger = new Orchestrator(driver, images, SETTINGS.withMemoryMiB(512), StepLog.stderr(), snapshots);
        VmmException size = assertThrows(VmmException.class,
                () -> bigger.restoreOnce("fibonacci", snapshot, Strategy.REAP_COMPRESSED, false));
        assertTrue(size.getMessage().contains("has 256 MiB of guest memory, the VM asks for 512 MiB"), size.getMessage());
        VmmException none = assertThrows(VmmException.class, () -> bigger.cached("fibonacci"));
        assertTrue(none.getMessage().startsWith("no qemu snapshot of fibonacci with 512 MiB"), none.getMessage());
    }
}
