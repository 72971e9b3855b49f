package dev.sabre.firecracker;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
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

import java.io.File;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Firecracker driven through its REST API on a per-VM Unix socket, with no fork: boot from a
 * function's images, pause and resume, Full and Diff snapshots, and restores whose memory comes from
 * the memory file ({@code mem_backend} File) or from a userfaultfd page-fault handler over the
 * handshake ({@code mem_backend} Uffd, {@code backend_path} = the handler's socket). A spec on huge pages
 * sets {@code huge_pages: "2M"} at boot and on snapshot load (the latter only with Uffd, as Firecracker requires).
 */
public final class FirecrackerDriver implements VmmDriver {
    /** Guest MAC of eth0; the guest init configures 10.0.2.15/24 on it. */
    static final String GUEST_MAC = "06:00:0a:00:02:0f";
    /** As the QEMU driver's: init_on_free keeps memory the guest freed out of snapshots and working sets. */
    static final String BOOT_ARGS = "console=ttyS0 reboot=k panic=1 pci=off quiet random.trust_cpu=on init_on_free=1 "
            + "i8042.noaux i8042.nomux i8042.dumbkbd";
    /** {@code huge_pages} of machine-config and snapshot load: guest memory on explicit 2 MiB hugetlbfs pages. */
    static final String HUGE_PAGES_2M = "2M";

    private final FirecrackerConfig config;
    private final StepLog progress;

    public FirecrackerDriver(FirecrackerConfig config, StepLog progress) {
        this.config = config;
        this.progress = progress;
    }

    public FirecrackerConfig config() {
        return config;
    }

    @Override
    public String name() {
        return "firecracker";
    }

    @Override
    public Vm boot(VmSpec spec) {
        checkImages(spec);
        long start = System.nanoTime();
        FirecrackerVm vm = start(spec);
        try {
            JsonObject boot = new JsonObject();
            boot.addProperty("kernel_image_path", vm.visible(spec.image().kernel()));
            boot.addProperty("initrd_path", vm.visible(spec.image().initramfs()));
            boot.addProperty("boot_args", BOOT_ARGS);
            vm.api.put("/boot-source", boot);

            JsonObject machine = new JsonObject();
            machine.addProperty("vcpu_count", spec.vcpus());
            machine.addProperty("mem_size_mib", spec.memoryMiB());
            // Always on, so that any VM can take Diff snapshots.
            machine.addProperty("track_dirty_pages", true);
            if (spec.hugePages()) {
                machine.addProperty("huge_pages", HUGE_PAGES_2M);
            }
            vm.api.put("/machine-config", machine);

            JsonObject drive = new JsonObject();
            drive.addProperty("drive_id", "rootfs");
            drive.addProperty("path_on_host", vm.visible(spec.image().rootfs()));
            // The initramfs mounts /dev/vda itself; no root= on the command line.
            drive.addProperty("is_root_device", false);
            drive.addProperty("is_read_only", true);
            vm.api.put("/drives/rootfs", drive);

            if (vm.tap != null) {
                JsonObject net = new JsonObject();
                net.addProperty("iface_id", "eth0");
                net.addProperty("host_dev_name", vm.tap.name());
                net.addProperty("guest_mac", GUEST_MAC);
                vm.api.put("/network-interfaces/eth0", net);
            }
            if (vm.vsock) {
                JsonObject vsock = new JsonObject();
                vsock.addProperty("guest_cid", 3);
                vsock.addProperty("uds_path", vsockPath(vm));
                vm.api.put("/vsock", vsock);
            }
            action(vm, "InstanceStart");
            waitForFunction(vm, start + spec.readyTimeout().toNanos());
            progress.step(String.format("%s ready after %.1f s (firecracker)", spec.function(), (System.nanoTime() - start) / 1e9));
            return vm;
        } catch (RuntimeException e) {
            throw DriverSupport.failed(vm, "VM " + spec.function() + " did not come up", e);
        }
    }

    @Override
    public Invocation invoke(Vm vm, String input) {
        FirecrackerVm f = own(vm);
        return Invocation.call(f.client(), f, input);
    }

    @Override
    public void pause(Vm vm) {
        setState(own(vm), "Paused");
    }

    @Override
    public void resume(Vm vm) {
        setState(own(vm), "Resumed");
    }

    /** A Full snapshot; as the interface says, the VM ends with it. */
    @Override
    public Snapshot snapshot(Vm vm, Path dir) {
        try {
            return snapshot(vm, dir, SnapshotKind.FULL);
        } finally {
            vm.close();
        }
    }

    /**
     * Pauses the VM (if running) and writes a Full or Diff snapshot into the new or empty {@code dir};
     * the VM stays paused and can be resumed and snapshotted again. A Diff holds the pages dirtied since
     * the VM's previous snapshot (or its boot or load); {@code firecracker.json} names that base.
     */
    public Snapshot snapshot(Vm vm, Path dir, SnapshotKind kind) {
        FirecrackerVm f = own(vm);
        try {
            Files.createDirectories(dir);
            try (var entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new VmmException("snapshot directory " + dir + " is not empty");
                }
            }
            if (!f.paused) {
                setState(f, "Paused");
            }
            Path state = dir.resolve("vmstate");
            Path memory = dir.resolve("memory");
            JsonObject create = new JsonObject();
            create.addProperty("snapshot_type", kind.apiName());
            create.addProperty("snapshot_path", f.jailRoot == null ? state.toAbsolutePath().toString() : "/vmstate");
            create.addProperty("mem_file_path", f.jailRoot == null ? memory.toAbsolutePath().toString() : "/memory");
            f.api.put("/snapshot/create", create);
            if (f.jailRoot != null) {
                Files.move(f.written(state), state);
                Files.move(f.written(memory), memory);
            }
            Snapshot snapshot = new Snapshot(f.spec().function(), name(), f.spec().memoryBytes(), f.spec().image().id(), state, memory);
            new SnapshotInfo(kind, kind == SnapshotKind.DIFF ? f.base : null, f.tap != null, f.vsock).save(dir);
            snapshot.save();
            f.base = dir.toAbsolutePath();
            return snapshot;
        } catch (IOException e) {
            throw new VmmException("cannot write snapshot of " + f.spec().function() + " to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Restores and resumes; the default keeps dirty-page tracking on, so the restored VM can take Diffs. */
    @Override
    public Restored restore(VmSpec spec, Snapshot snapshot, MemoryBackend backend) {
        snapshot.checkCompatible(spec, name());
        DriverSupport.checkHugePageBackend(spec, backend);
        Path dir = snapshot.stateFile().getParent();
        SnapshotInfo info = SnapshotInfo.load(dir);
        if (info.kind() == SnapshotKind.DIFF && info.base() != null) {
            // A Diff since boot is whole (its holes are zeros); one on a base is not.
            throw new VmmException("snapshot " + dir + " is a Diff on " + info.base() + ": merge it onto its base first (DiffRebase.rebase)");
        }
        if (backend instanceof MemoryBackend.Uffd(Path socket) && !Files.exists(socket)) {
            throw new VmmException("no page-fault handler listening at " + socket + " (start it before the restore)");
        }
        GreeterClient.warmUp();
        long start = System.nanoTime();
        FirecrackerVm vm = start(spec, info.network(), info.vsock());
        try {
            JsonObject memBackend = new JsonObject();
            switch (backend) {
                case MemoryBackend.File file -> {
                    memBackend.addProperty("backend_type", "File");
                    memBackend.addProperty("backend_path", vm.visible(snapshot.memoryFile()));
                }
                case MemoryBackend.Uffd(Path socket) -> {
                    memBackend.addProperty("backend_type", "Uffd");
                    memBackend.addProperty("backend_path", vm.visible(socket));
                }
            }
            JsonObject load = new JsonObject();
            load.addProperty("snapshot_path", vm.visible(snapshot.stateFile()));
            load.add("mem_backend", memBackend);
            load.addProperty("track_dirty_pages", true);
            load.addProperty("resume_vm", true);
            // Always said: left out, Firecracker reuses the page size the snapshot's VM booted with ("Snapshot").
            load.addProperty("huge_pages", spec.hugePages() ? HUGE_PAGES_2M : "None");
            if (vm.tap != null) {
                JsonObject net = new JsonObject();
                net.addProperty("iface_id", "eth0");
                net.addProperty("host_dev_name", vm.tap.name());
                JsonArray overrides = new JsonArray();
                overrides.add(net);
                load.add("network_overrides", overrides);
            }
            if (vm.vsock) {
                JsonObject vsock = new JsonObject();
                vsock.addProperty("uds_path", vsockPath(vm));
                load.add("vsock_override", vsock);
            }
            vm.api.put("/snapshot/load", load);
            long restoreMicros = (System.nanoTime() - start) / 1000;
            vm.base = dir.toAbsolutePath();
            return new Restored(vm, restoreMicros);
        } catch (RuntimeException e) {
            throw DriverSupport.failed(vm, "restoring " + spec.function() + " from " + dir + " (" + backend.name() + ") failed", e);
        }
    }

    // ---- the Firecracker process ----

    private FirecrackerVm start(VmSpec spec) {
        return start(spec, config.tap(), config.vsock());
    }

    /** Starts Firecracker (under the jailer if configured) and waits for its API socket; cleans up on failure. */
    private FirecrackerVm start(VmSpec spec, boolean network, boolean vsock) {
        String id = "sabre-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        Path work = WorkDir.create("sabre-fc-" + spec.function());
        TapDevice tap = null;
        ChildProcess process = null;
        try {
            if (network) {
                tap = TapDevice.create("sfc" + id.substring(6));
            }
            Path chroot = config.jailer() == null ? null : config.jailer().chroot(config.binary(), id);
            Path socket = chroot == null ? work.resolve("api.sock") : chroot.resolve("api.sock");
            List<String> cmd = command(id, chroot == null ? socket.toString() : "/api.sock");
            Files.writeString(work.resolve("command"), String.join(" ", cmd) + "\n");
            Path log = work.resolve("firecracker.log");
            TapDevice startedTap = tap;
            process = ChildProcess.start(new ProcessBuilder(cmd)
                    .directory(work.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))), () -> {
                        if (startedTap != null) {
                            startedTap.close();
                        }
                        WorkDir.deleteTree(work);
                    });
            awaitSocket(process, socket, log);
            ApiClient api = new ApiClient(socket, config.apiTimeout());
            return new FirecrackerVm(spec, id, work, process, api, tap, chroot, config.guestEndpoint(), vsock);
        } catch (IOException | RuntimeException e) {
            if (process != null) {
                process.awaitExit(Duration.ZERO);
                process.release();
            }
            if (tap != null) {
                tap.close();
            }
            if (config.jailer() != null) {
                WorkDir.deleteTree(config.jailer().chroot(config.binary(), id).getParent());
            }
            WorkDir.deleteTree(work);
            if (e instanceof VmmException v) {
                throw v;
            }
            throw new VmmException("cannot start " + config.binary() + ": " + e.getMessage(), e);
        }
    }

    /** The command line: Firecracker itself, or the jailer running it. */
    List<String> command(String id, String apiSocket) {
        List<String> cmd = new ArrayList<>();
        if (config.jailer() != null) {
            Jailer j = config.jailer();
            cmd.addAll(List.of(j.binary().toString(), "--id", id, "--exec-file", config.binary().toAbsolutePath().toString(),
                    "--uid", Integer.toString(j.uid()), "--gid", Integer.toString(j.gid()),
                    "--chroot-base-dir", j.chrootBase().toAbsolutePath().toString(), "--"));
        } else {
            cmd.add(config.binary().toAbsolutePath().toString());
            cmd.addAll(List.of("--id", id));
        }
        cmd.addAll(List.of("--api-sock", apiSocket, "--level", "Info"));
        return cmd;
    }

    /** Waits until the API socket accepts connections (it exists between bind and listen, refusing them). */
    private void awaitSocket(ChildProcess process, Path socket, Path log) {
        long deadline = System.nanoTime() + config.apiTimeout().toNanos();
        while (!accepts(socket)) {
            if (!process.isAlive()) {
                throw new VmmException(config.binary() + " exited with status " + process.process().exitValue()
                        + " before its API socket " + socket + " appeared: " + lastLine(log));
            }
            if (System.nanoTime() > deadline) {
                throw new VmmException("API socket " + socket + " did not appear within " + config.apiTimeout().toMillis()
                        + " ms of starting " + config.binary() + ": " + lastLine(log));
            }
            DriverSupport.sleep(2);
        }
    }

    private static boolean accepts(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "(no output)" : lines.getLast().strip();
        } catch (IOException e) {
            return "(no output)";
        }
    }

    private void waitForFunction(FirecrackerVm vm, long deadline) {
        while (true) {
            if (!vm.isAlive()) {
                throw new VmmException("Firecracker exited before the function was ready");
            }
            if (System.nanoTime() > deadline) {
                throw new VmmException("the function's gRPC server on " + vm.endpoint + " did not answer within "
                        + vm.spec().readyTimeout().toSeconds() + " s");
            }
            try {
                if (vm.client().awaitReady(Duration.ofMillis(200))) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VmmException("interrupted while waiting for " + vm.spec().function(), e);
            }
        }
    }

    private static void setState(FirecrackerVm vm, String state) {
        JsonObject body = new JsonObject();
        body.addProperty("state", state);
        vm.api.patch("/vm", body);
        vm.paused = state.equals("Paused");
    }

    private static void action(FirecrackerVm vm, String type) {
        JsonObject body = new JsonObject();
        body.addProperty("action_type", type);
        vm.api.put("/actions", body);
    }

    private static String vsockPath(FirecrackerVm vm) {
        return vm.jailRoot == null ? vm.workDir().resolve("vsock.sock").toAbsolutePath().toString() : "/vsock.sock";
    }

    private static FirecrackerVm own(Vm vm) {
        return DriverSupport.own(vm, FirecrackerVm.class, "Firecracker");
    }

    private static void checkImages(VmSpec spec) {
        DriverSupport.checkImages(spec);
        if (spec.vcpus() > 32) {
            throw new VmmException("Firecracker runs at most 32 vCPUs, not " + spec.vcpus());
        }
    }
}
