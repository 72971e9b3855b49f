package dev.sabre.vmm.qemu;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.sabre.vmm.Accelerator;
import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.DriverSupport;
import dev.sabre.vmm.Invocation;
import dev.sabre.vmm.MemoryBackend;
import dev.sabre.vmm.Restored;
import dev.sabre.vmm.Snapshot;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.VmSpec;
import dev.sabre.vmm.VmmDriver;
import dev.sabre.vmm.VmmException;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.grpc.GreeterClient;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.HostTools;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The embedded VMM: QEMU's microvm machine driven over QMP. Guest RAM lives in a file
 * ({@code memory-backend-file}), so a snapshot is the migration stream without RAM (x-ignore-shared)
 * plus that file, and a restore maps the file privately ({@code share=off}, like Firecracker's File
 * backend) or, through the {@link PreloadLibrary preload bridge}, hands the guest RAM to a userfaultfd
 * handler with Firecracker's handshake. Runs under TCG everywhere, with hardware KVM where it works.
 */
public final class QemuDriver implements VmmDriver {
    private static final int GUEST_PORT = 50051;
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(30);
    /** A host forward in {@code info usernet}: "TCP[HOST_FORWARD]  FD  127.0.0.1 HOSTPORT  10.0.2.15 50051 ...". */
    private static final Pattern HOST_FORWARD = Pattern.compile(
            "TCP\\[HOST_FORWARD]\\s+\\d+\\s+127\\.0\\.0\\.1\\s+(\\d+)\\s+\\S+\\s+" + GUEST_PORT + "\\b");

    private final Path qemu;
    private final Cache cache;
    private final StepLog progress;

    public QemuDriver(Cache cache, StepLog progress) {
        String env = System.getenv("SABRE_QEMU");
        this.qemu = Path.of(env == null || env.isBlank() ? "/usr/bin/qemu-system-x86_64" : env);
        this.cache = cache;
        this.progress = progress;
    }

    @Override
    public String name() {
        return "qemu";
    }

    /** The accelerator VMs of this spec run with. */
    public Accelerator accelerator(VmSpec spec) {
        return spec.accelerator() != null ? spec.accelerator() : AcceleratorDetector.choose(qemu);
    }

    @Override
    public Vm boot(VmSpec spec) {
        HostTools.requireVmTools();
        DriverSupport.checkImages(spec);
        if (spec.hugePages()) {
            // memory-backend-file would need the RAM file on a hugetlbfs mount; a snapshot's memory does not
            // depend on the page size the guest booted with, so restores choose huge pages instead.
            throw new VmmException("the QEMU driver boots " + spec.function() + " on 4 KiB pages only; "
                    + "huge pages apply to restores through a page-fault handler");
        }
        long start = System.nanoTime();
        Path work = WorkDir.create("sabre-vm-" + spec.function());
        QemuVm vm = start(spec, work, work.resolve("memory"), true, false, Map.of());
        try {
            long deadline = start + spec.readyTimeout().toNanos();
            connectQmp(vm, deadline);
            vm.forwardedPort(forwardedPort(vm));
            waitForServer(vm, deadline);
            progress.step(String.format("%s ready after %.1f s (%s)", spec.function(),
                    (System.nanoTime() - start) / 1e9, accelerator(spec).qemuName()));
            return vm;
        } catch (RuntimeException e) {
            throw DriverSupport.failed(vm, "VM " + spec.function() + " did not come up", e);
        }
    }

    @Override
    public Invocation invoke(Vm vm, String input) {
        QemuVm q = own(vm);
        return Invocation.call(q.client(), q, input);
    }

    @Override
    public void pause(Vm vm) {
        own(vm).qmp.execute("stop", null, QMP_TIMEOUT);
    }

    @Override
    public void resume(Vm vm) {
        own(vm).qmp.execute("cont", null, QMP_TIMEOUT);
    }

    @Override
    public Snapshot snapshot(Vm vm, Path dir) {
        QemuVm q = own(vm);
        if (q.restored) {
            throw new VmmException("the QEMU driver snapshots booted VMs only; " + q + " was restored from a snapshot");
        }
        try {
            Files.createDirectories(dir);
            Path state = dir.resolve("state");
            Path memory = dir.resolve("memory");
            Path stateTmp = dir.resolve("state.tmp");
            for (Path p : List.of(state, memory, stateTmp, dir.resolve(Snapshot.METADATA))) {
                Files.deleteIfExists(p);
            }
            q.closeClient();
            JsonObject caps = capabilities();
            q.qmp.execute("migrate-set-capabilities", caps, QMP_TIMEOUT);
            q.qmp.execute("stop", null, QMP_TIMEOUT);
            JsonObject args = new JsonObject();
            args.addProperty("uri", "exec:cat > " + shellQuote(stateTmp.toAbsolutePath()));
            q.qmp.execute("migrate", args, QMP_TIMEOUT);
            waitForMigration(q, System.nanoTime() + QMP_TIMEOUT.toNanos());
            q.quit();
            Files.move(q.memoryFile, memory, StandardCopyOption.REPLACE_EXISTING);
            Files.move(stateTmp, state, StandardCopyOption.ATOMIC_MOVE);
            Snapshot snapshot = new Snapshot(q.spec().function(), name(), q.spec().memoryBytes(), q.spec().image().id(),
                    state, memory);
            snapshot.save();
            return snapshot;
        } catch (IOException e) {
            throw new VmmException("cannot write snapshot of " + q.spec().function() + " to " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            String why = q.diagnostics();
            throw new VmmException("snapshot of " + q.spec().function() + " failed: " + e.getMessage() + "\n" + why, e);
        } finally {
            q.close();
        }
    }

    @Override
    public Restored restore(VmSpec spec, Snapshot snapshot, MemoryBackend backend) {
        HostTools.requireVmTools();
        snapshot.checkCompatible(spec, name());
        DriverSupport.checkImages(spec);
        DriverSupport.checkHugePageBackend(spec, backend);
        Path memory;
        try {
            memory = snapshot.memoryFile().toRealPath();
        } catch (IOException e) {
            throw new VmmException("snapshot memory file " + snapshot.memoryFile() + " is unreadable: " + e.getMessage(), e);
        }
        Map<String, String> env = Map.of();
        if (backend instanceof MemoryBackend.Uffd(Path socket)) {
            if (!Files.exists(socket)) {
                throw new VmmException("no page-fault handler listening at " + socket + " (start it before the restore)");
            }
            Path library = PreloadLibrary.build(cache, progress);
            env = Map.of("LD_PRELOAD", library.toString(),
                    PreloadLibrary.ENV_MEM_PATH, memory.toString(),
                    PreloadLibrary.ENV_SOCKET, socket.toAbsolutePath().toString(),
                    PreloadLibrary.ENV_HUGE_PAGES, spec.hugePages() ? "1" : "0");
        }
        GreeterClient.warmUp();
        Path work = WorkDir.create("sabre-vm-" + spec.function());
        long start = System.nanoTime();
        QemuVm vm = start(spec, work, memory, false, true, env);
        try {
            long deadline = start + spec.readyTimeout().toNanos();
            connectQmp(vm, deadline);
            vm.qmp.execute("migrate-set-capabilities", capabilities(), QMP_TIMEOUT);
            JsonObject args = new JsonObject();
            args.addProperty("uri", "exec:cat " + shellQuote(snapshot.stateFile().toAbsolutePath()));
            vm.qmp.execute("migrate-incoming", args, QMP_TIMEOUT);
            waitForStatus(vm, "paused", deadline);
            vm.qmp.execute("cont", null, QMP_TIMEOUT);
            long restoreMicros = (System.nanoTime() - start) / 1000;
            // After the measured interval, which stays what it was when the driver chose the port itself.
            vm.forwardedPort(forwardedPort(vm));
            return new Restored(vm, restoreMicros);
        } catch (RuntimeException e) {
            throw DriverSupport.failed(vm, "restoring " + spec.function() + " from " + snapshot.stateFile().getParent()
                    + " (" + backend.name() + ") failed", e);
        }
    }

    // ---- QEMU process ----

    private QemuVm start(VmSpec spec, Path work, Path memory, boolean shared, boolean incoming, Map<String, String> env) {
        Accelerator acc = accelerator(spec);
        List<String> cmd = new ArrayList<>(List.of(qemu.toString(),
                "-M", "microvm,memory-backend=mem",
                "-accel", acc.qemuName(),
                "-cpu", acc == Accelerator.KVM ? "host" : "max",
                "-m", spec.memoryMiB() + "M",
                "-smp", Integer.toString(spec.vcpus()),
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                // align=2M: the preload bridge maps huge pages only at a 2 MiB-aligned address.
                "-object", "memory-backend-file,id=mem,size=" + spec.memoryMiB() + "M,mem-path=" + opt(memory)
                        + ",share=" + (shared ? "on" : "off") + (spec.hugePages() ? ",align=2M" : ""),
                "-kernel", spec.image().kernel().toString(),
                "-initrd", spec.image().initramfs().toString(),
                "-append", kernelCommandLine(acc),
                "-chardev", "file,id=serial,path=" + opt(work.resolve("serial.log")),
                "-serial", "chardev:serial",
                "-drive", "if=none,id=root,file=" + opt(spec.image().rootfs()) + ",format=raw,readonly=on",
                "-device", "virtio-blk-device,drive=root",
                // Port 0: QEMU binds a free port itself (no window in which another process can take it);
                // forwardedPort reads which one over QMP.
                "-netdev", "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:0-:" + GUEST_PORT,
                "-device", "virtio-net-device,netdev=net0",
                "-qmp", "unix:" + opt(work.resolve("qmp.sock")) + ",server=on,wait=off"));
        if (incoming) {
            cmd.addAll(List.of("-S", "-incoming", "defer"));
        }
        try {
            Files.writeString(work.resolve("command"), String.join(" ", cmd) + "\n", StandardCharsets.UTF_8);
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(work.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(work.resolve("qemu.log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            ChildProcess process = ChildProcess.start(pb, () -> WorkDir.deleteTree(work));
            return new QemuVm(spec, work, process, memory, incoming);
        } catch (IOException e) {
            WorkDir.deleteTree(work);
            throw new VmmException("cannot start " + qemu + ": " + e.getMessage(), e);
        }
    }

    private String kernelCommandLine(Accelerator acc) {
        // init_on_free: memory the guest frees (a function's last request's data) is zero in the snapshot,
        // so it is neither stored nor prefetched, and a page the guest reallocates is installed as a zero page.
        String line = "console=ttyS0 quiet panic=-1 reboot=t random.trust_cpu=on init_on_free=1";
        if (acc == Accelerator.TCG) {
            // Without it, TSC calibration under TCG hangs in some boots.
            line += " tsc_early_khz=" + tscKhz();
        }
        return line;
    }

    /** The host's TSC frequency in kHz from /proc/cpuinfo (2596000 when unknown). */
    static long tscKhz() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("cpu MHz")) {
                    double mhz = Double.parseDouble(line.substring(line.indexOf(':') + 1).strip());
                    if (mhz > 100) {
                        return Math.round(mhz) * 1000;
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return 2_596_000;
    }

    private static void connectQmp(QemuVm vm, long deadline) {
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!vm.isAlive()) {
                throw new VmmException("QEMU exited before its QMP socket came up");
            }
            if (Files.exists(vm.qmpSocket())) {
                try {
                    vm.qmp = QmpClient.connect(vm.qmpSocket(), QMP_TIMEOUT);
                    return;
                } catch (IOException e) {
                    last = e;
                }
            }
            DriverSupport.sleep(2);
        }
        throw new VmmException("QMP socket " + vm.qmpSocket() + " did not come up" + (last == null ? "" : ": " + last.getMessage()));
    }

    /** The host port QEMU bound for the guest's gRPC port, from the user-mode network's forwarding table. */
    private static int forwardedPort(QemuVm vm) {
        JsonObject args = new JsonObject();
        args.addProperty("command-line", "info usernet");
        String table = vm.qmp.execute("human-monitor-command", args, QMP_TIMEOUT).getAsString();
        Matcher m = HOST_FORWARD.matcher(table);
        if (!m.find()) {
            throw new VmmException("QEMU reports no host port forwarded to the guest's port " + GUEST_PORT + ": " + table.strip());
        }
        return Integer.parseInt(m.group(1));
    }

    /** Waits for the function's ready line on the console, then for its gRPC server to accept a connection. */
    private static void waitForServer(QemuVm vm, long deadline) {
        String marker = "sabre: function " + vm.spec().function() + " ready";
        while (true) {
            if (!vm.isAlive()) {
                throw new VmmException("the guest stopped before the function was ready");
            }
            if (System.nanoTime() > deadline) {
                throw new VmmException("the function did not start within " + vm.spec().readyTimeout().toSeconds() + " s");
            }
            if (consoleContains(vm.serialLog(), marker)) {
                break;
            }
            DriverSupport.sleep(50);
        }
        try {
            long left = Math.max(1, deadline - System.nanoTime());
            if (!vm.client().awaitReady(Duration.ofNanos(left))) {
                throw new VmmException("the function's gRPC server on 127.0.0.1:" + vm.hostPort() + " did not answer within "
                        + vm.spec().readyTimeout().toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted while waiting for " + vm.spec().function(), e);
        }
    }

    private static boolean consoleContains(Path log, String text) {
        try {
            return Files.exists(log) && new String(Files.readAllBytes(log), StandardCharsets.UTF_8).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    private static void waitForMigration(QemuVm vm, long deadline) {
        while (true) {
            JsonElement r = vm.qmp.execute("query-migrate", null, QMP_TIMEOUT);
            String status = r.isJsonObject() && r.getAsJsonObject().has("status")
                    ? r.getAsJsonObject().get("status").getAsString() : "none";
            if (status.equals("completed")) {
                return;
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                String why = r.getAsJsonObject().has("error-desc") ? r.getAsJsonObject().get("error-desc").getAsString() : status;
                throw new VmmException("saving the device state failed: " + why);
            }
            if (System.nanoTime() > deadline) {
                throw new VmmException("saving the device state did not finish (status " + status + ")");
            }
            DriverSupport.sleep(2);
        }
    }

    private static void waitForStatus(QemuVm vm, String wanted, long deadline) {
        while (true) {
            if (!vm.isAlive()) {
                throw new VmmException("QEMU exited while loading the snapshot");
            }
            JsonElement r = vm.qmp.execute("query-status", null, QMP_TIMEOUT);
            String status = r.getAsJsonObject().get("status").getAsString();
            if (status.equals(wanted)) {
                return;
            }
            if (!status.equals("inmigrate") && !status.equals("prelaunch")) {
                JsonElement m = vm.qmp.execute("query-migrate", null, QMP_TIMEOUT);
                throw new VmmException("VM status " + status + " while loading the snapshot; migration: " + m);
            }
            JsonElement m = vm.qmp.execute("query-migrate", null, QMP_TIMEOUT);
            if (m.isJsonObject() && m.getAsJsonObject().has("status")
                    && m.getAsJsonObject().get("status").getAsString().equals("failed")) {
                throw new VmmException("loading the device state failed: " + m);
            }
            if (System.nanoTime() > deadline) {
                throw new VmmException("the VM did not reach status " + wanted + " (still " + status + ")");
            }
            DriverSupport.sleep(1);
        }
    }

    private static JsonObject capabilities() {
        JsonObject cap = new JsonObject();
        cap.addProperty("capability", "x-ignore-shared");
        cap.addProperty("state", true);
        JsonArray caps = new JsonArray();
        caps.add(cap);
        JsonObject args = new JsonObject();
        args.add("capabilities", caps);
        return args;
    }

    // ---- helpers ----

    private static QemuVm own(Vm vm) {
        return DriverSupport.own(vm, QemuVm.class, "QEMU");
    }

    /** A path inside a QEMU option value (commas doubled). */
    private static String opt(Path p) {
        return p.toAbsolutePath().toString().replace(",", ",,");
    }

    private static String shellQuote(Path p) {
        String s = p.toString();
        if (s.contains("'")) {
            throw new VmmException("path with a quote is not supported: " + s);
        }
        return "'" + s + "'";
    }
}
