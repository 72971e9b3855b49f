package dev.sabre.firecracker.standin;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.sabre.firecracker.standin.MicroHttpServer.Response;
import dev.sabre.linux.FileIo;
import dev.sabre.linux.HugePages;
import dev.sabre.linux.LinuxException;
import dev.sabre.linux.Memory;
import dev.sabre.linux.UnixSocket;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.vmm.grpc.GreeterClient;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A stand-in for the {@code firecracker} binary, for tests on machines where Firecracker cannot run.
 * It takes Firecracker's command line, serves its REST API on the API socket, validates every request
 * body against the schemas of the official OpenAPI file, and answers with Firecracker's status codes
 * and error shape ({@code {"fault_message": ...}}). Its guest is a {@link Guest} over real memory; a
 * snapshot writes that memory as Firecracker does (Full: all of it; Diff: the dirty pages of a sparse
 * file), and {@code PUT /snapshot/load} with the Uffd backend does what Firecracker does: anonymous
 * memory, a userfaultfd with UFFD_FEATURE_EVENT_REMOVE registered MISSING over it, one message with the
 * JSON region list and the userfaultfd to {@code backend_path}, then guest-like touches checked against
 * the snapshot. A guest whose memory is wrong "crashes": the process exits with status 70. The
 * function's gRPC server answers on 127.0.0.1:$SABRE_STANDIN_GUEST_PORT once the guest runs; each
 * invocation writes a new generation of pages.
 */
public final class FirecrackerStandIn {
    public static final String ENV_GUEST_PORT = "SABRE_STANDIN_GUEST_PORT";
    static final String VERSION = "1.17.0-dev";
    private static final String VMSTATE_MAGIC = "sabre-firecracker-stand-in vmstate";
    private static final int VMSTATE_VERSION = 1;
    private static final Gson GSON = new Gson();
    /** Flags Firecracker takes, and whether each takes a value. */
    private static final Map<String, Boolean> FLAGS = Map.ofEntries(
            Map.entry("--api-sock", true), Map.entry("--id", true), Map.entry("--level", true),
            Map.entry("--log-path", true), Map.entry("--show-level", false), Map.entry("--show-log-origin", false),
            Map.entry("--boot-timer", false), Map.entry("--no-seccomp", false), Map.entry("--seccomp-filter", true),
            Map.entry("--config-file", true), Map.entry("--metadata", true), Map.entry("--no-api", false),
            Map.entry("--http-api-max-payload-size", true), Map.entry("--mmds-size-limit", true),
            Map.entry("--start-time-us", true), Map.entry("--start-time-cpu-us", true),
            Map.entry("--parent-cpu-time-us", true), Map.entry("--enable-pci", false));

    enum State {
        NOT_STARTED("Not started"), RUNNING("Running"), PAUSED("Paused");

        final String api;

        State(String api) {
            this.api = api;
        }
    }

    private final OpenApiSpec spec;
    private final String id;
    private final Object guestLock = new Object();
    private State state = State.NOT_STARTED;
    private boolean configured;
    private JsonObject bootSource;
    private JsonObject machine = defaultMachine();
    private final Map<String, JsonObject> drives = new LinkedHashMap<>();
    private final Map<String, JsonObject> networks = new LinkedHashMap<>();
    private JsonObject vsock;
    private Guest guest;
    private int generation;
    private long verified = -1;
    private UnixSocket uffdConnection;
    private UnixSocket vsockListener;
    private Server grpc;

    private FirecrackerStandIn(OpenApiSpec spec, String id) {
        this.spec = spec;
        this.id = id;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--version")) {
                System.out.println("Firecracker v" + VERSION + " (stand-in)");
                return;
            }
            Boolean takesValue = FLAGS.get(args[i]);
            if (takesValue == null) {
                System.out.println("Arguments parsing error: Found argument '" + args[i] + "' which wasn't expected, or isn't valid in this context.");
                System.exit(1);
            }
            if (takesValue && i + 1 >= args.length) {
                System.out.println("Arguments parsing error: Argument '" + args[i] + "' needs a value.");
                System.exit(1);
            }
            flags.put(args[i], takesValue ? args[++i] : "");
        }
        Path socket = Path.of(flags.getOrDefault("--api-sock", "/run/firecracker.socket"));
        String id = flags.getOrDefault("--id", "anonymous-instance");
        OpenApiSpec spec = OpenApiSpec.load(OpenApiSpec.locate());
        FirecrackerStandIn vmm = new FirecrackerStandIn(spec, id);
        if (Files.exists(socket)) {
            vmm.log("Failed to open the API socket at: " + socket + ". Check that it is not already used.");
            System.exit(1);
        }
        vmm.log("Running Firecracker v" + VERSION + " (stand-in validating against " + spec.file() + ", API " + spec.version() + ")");
        MicroHttpServer server = new MicroHttpServer(socket, vmm::handle);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // exiting
            }
        }));
        Thread.currentThread().join(); // serve until killed
    }

    private void log(String message) {
        System.out.println(Instant.now() + " [" + id + ":main] " + message);
        System.out.flush();
    }

    // ---- the API ----

    Response handle(String method, String path, String body) {
        String template = spec.template(path);
        if (template == null || !spec.methods(template).contains(method.toLowerCase())) {
            return Response.fault(400, "Invalid request method and/or path: " + method + " " + path + ".");
        }
        JsonObject json = null;
        Map<String, Object> schema = spec.bodySchema(template, method);
        if (schema != null) {
            if (body.isBlank()) {
                if (spec.bodyRequired(template, method)) {
                    return Response.fault(400, "Empty request body for " + method + " " + path + ".");
                }
            } else {
                try {
                    JsonElement parsed = GSON.fromJson(body, JsonElement.class);
                    List<String> errors = spec.validate(schema, parsed);
                    if (!errors.isEmpty()) {
                        return Response.fault(400, "An error occurred when deserializing the json body of a request: "
                                + String.join("; ", errors));
                    }
                    json = parsed.getAsJsonObject();
                } catch (JsonParseException e) {
                    return Response.fault(400, "An error occurred when deserializing the json body of a request: " + e.getMessage());
                }
            }
        }
        log("The API server received a " + method + " request on \"" + path + "\".");
        try {
            return dispatch(method, template, path, json);
        } catch (Fault f) {
            log("Received Error. Status code: 400 Bad Request. Message: " + f.getMessage());
            return Response.fault(400, f.getMessage());
        }
    }

    /** A request Firecracker refuses: 400 with this fault_message. */
    private static final class Fault extends RuntimeException {
        Fault(String message) {
            super(message);
        }
    }

    private Response dispatch(String method, String template, String path, JsonObject body) {
        String key = method + " " + template;
        String id = path.substring(path.lastIndexOf('/') + 1);
        return switch (key) {
            case "GET /" -> Response.ok(instanceInfo());
            case "GET /version" -> Response.ok("{\"firecracker_version\":\"" + VERSION + "\"}");
            case "GET /machine-config" -> Response.ok(machine.toString());
            case "PUT /logger", "PUT /metrics" -> Response.noContent();
            case "PUT /boot-source" -> {
                preBoot();
                requireFile(body, "kernel_image_path", "The kernel file cannot be opened");
                requireFile(body, "initrd_path", "The initrd file cannot be opened due to invalid path or invalid permissions");
                bootSource = body;
                configured = true;
                yield Response.noContent();
            }
            case "PUT /machine-config", "PATCH /machine-config" -> {
                preBoot();
                JsonObject next = method.equals("PUT") ? defaultMachine() : machine.deepCopy();
                body.entrySet().forEach(e -> next.add(e.getKey(), e.getValue()));
                int vcpus = next.get("vcpu_count").getAsInt();
                if (next.get("smt").getAsBoolean() && vcpus > 1 && vcpus % 2 == 1) {
                    throw new Fault("The number of vCPUs must be 1 or an even number when SMT is enabled.");
                }
                if (next.get("mem_size_mib").getAsLong() <= 0 || hugePages(next) && next.get("mem_size_mib").getAsLong() % 2 != 0) {
                    throw new Fault("The memory size (MiB) is either 0, or not a multiple of the configured page size.");
                }
                machine = next;
                configured = true;
                yield Response.noContent();
            }
            case "PUT /drives/{drive_id}" -> {
                preBoot();
                matchId(id, body, "drive_id");
                requireFile(body, "path_on_host", "Unable to create the virtio block device");
                drives.put(id, body);
                configured = true;
                yield Response.noContent();
            }
            case "PUT /network-interfaces/{iface_id}" -> {
                preBoot();
                matchId(id, body, "iface_id");
                networks.put(id, body);
                configured = true;
                yield Response.noContent();
            }
            case "PUT /vsock" -> {
                preBoot();
                vsock = body;
                configured = true;
                yield Response.noContent();
            }
            case "PUT /actions" -> action(body.get("action_type").getAsString());
            case "PATCH /vm" -> changeState(body.get("state").getAsString());
            case "PUT /snapshot/create" -> createSnapshot(body);
            case "PUT /snapshot/load" -> loadSnapshot(body);
            default -> throw new Fault("The stand-in does not implement " + method + " " + template
                    + " (it is in the API file; add it to the stand-in when the driver needs it).");
        };
    }

    private String instanceInfo() {
        JsonObject o = new JsonObject();
        o.addProperty("app_name", "Firecracker");
        o.addProperty("id", id);
        o.addProperty("state", state.api);
        o.addProperty("vmm_version", VERSION);
        return o.toString();
    }

    private static JsonObject defaultMachine() {
        JsonObject m = new JsonObject();
        m.addProperty("vcpu_count", 1);
        m.addProperty("mem_size_mib", 128);
        m.addProperty("smt", false);
        m.addProperty("track_dirty_pages", false);
        m.addProperty("huge_pages", "None");
        return m;
    }

    private void preBoot() {
        if (state != State.NOT_STARTED) {
            throw new Fault("The requested operation is not supported after starting the microVM.");
        }
    }

    private static void matchId(String pathId, JsonObject body, String field) {
        if (!pathId.equals(body.get(field).getAsString())) {
            throw new Fault("The id from the path [" + pathId + "] does not match the id from the body [" + body.get(field).getAsString() + "]!");
        }
    }

    private static void requireFile(JsonObject body, String field, String what) {
        if (body.has(field) && !Files.isReadable(Path.of(body.get(field).getAsString()))) {
            throw new Fault(what + ": " + body.get(field).getAsString() + ": No such file or directory (os error 2)");
        }
    }

    private Response action(String type) {
        switch (type) {
            case "InstanceStart" -> {
                preBoot();
                if (bootSource == null) {
                    throw new Fault("Cannot start microvm without kernel configuration.");
                }
                long bytes = machine.get("mem_size_mib").getAsLong() << 20;
                boolean huge = hugePages(machine);
                MemorySegment memory = map(() -> anonymousMemory(bytes, huge), "Cannot allocate guest memory");
                synchronized (guestLock) {
                    guest = new Guest(memory, new int[(int) (bytes / Guest.PAGE)], true, huge);
                    guest.boot();
                    generation = 1;
                }
                startDevices(vsock == null ? null : vsock.get("uds_path").getAsString());
                state = State.RUNNING;
                log("Successfully started microvm that was configured from one single json");
            }
            case "FlushMetrics", "SendCtrlAltDel" -> {
                if (state == State.NOT_STARTED) {
                    throw new Fault("The requested operation is not supported before starting the microVM.");
                }
            }
            default -> throw new Fault("unknown action " + type);
        }
        return Response.noContent();
    }

    private Response changeState(String wanted) {
        if (state == State.NOT_STARTED) {
            throw new Fault("The requested operation is not supported before starting the microVM.");
        }
        synchronized (guestLock) { // the vCPUs stop between guest steps
            state = wanted.equals("Paused") ? State.PAUSED : State.RUNNING;
            guestLock.notifyAll();
        }
        log(wanted.equals("Paused") ? "Paused microVM" : "Resumed microVM");
        return Response.noContent();
    }

    // ---- snapshots ----

    private Response createSnapshot(JsonObject body) {
        if (state == State.NOT_STARTED) {
            throw new Fault("The requested operation is not supported before starting the microVM.");
        }
        if (state != State.PAUSED) {
            throw new Fault("Create snapshot error: Cannot save the microVM state: the microVM is not paused.");
        }
        boolean diff = body.has("snapshot_type") && body.get("snapshot_type").getAsString().equals("Diff");
        if (diff && !machine.get("track_dirty_pages").getAsBoolean()) {
            throw new Fault("Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
        }
        Path state = Path.of(body.get("snapshot_path").getAsString());
        Path memory = Path.of(body.get("mem_file_path").getAsString());
        try {
            synchronized (guestLock) {
                writeVmState(state);
                guest.dump(memory, diff);
            }
        } catch (IOException e) {
            throw new Fault("Create snapshot error: Cannot write memory file: " + e.getMessage());
        }
        log("Snapshot created (" + (diff ? "Diff" : "Full") + ")");
        return Response.noContent();
    }

    private void writeVmState(Path file) throws IOException {
        JsonObject config = new JsonObject();
        config.add("machine-config", machine);
        JsonObject d = new JsonObject();
        drives.forEach(d::add);
        config.add("drives", d);
        JsonObject n = new JsonObject();
        networks.forEach(n::add);
        config.add("network-interfaces", n);
        if (vsock != null) {
            config.add("vsock", vsock);
        }
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
            out.writeUTF(VMSTATE_MAGIC);
            out.writeInt(VMSTATE_VERSION);
            out.writeUTF(config.toString());
            out.writeInt(generation);
            out.writeInt(guest.generation.length);
            for (int g : guest.generation) {
                out.writeInt(g);
            }
        }
    }

    private Response loadSnapshot(JsonObject body) {
        if (state != State.NOT_STARTED || configured) {
            throw new Fault("Loading a microVM snapshot not allowed after configuring boot-specific resources.");
        }
        if (body.has("mem_file_path") == body.has("mem_backend")) {
            throw new Fault("Either `mem_backend` or `mem_file_path` must be present at a time.");
        }
        Path statePath = Path.of(body.get("snapshot_path").getAsString());
        int[] generations;
        JsonObject config;
        int savedGeneration;
        try (DataInputStream in = new DataInputStream(Files.newInputStream(statePath))) {
            if (!in.readUTF().equals(VMSTATE_MAGIC) || in.readInt() != VMSTATE_VERSION) {
                throw new IOException("not a microVM state file of this version");
            }
            config = GSON.fromJson(in.readUTF(), JsonObject.class);
            savedGeneration = in.readInt();
            generations = new int[in.readInt()];
            for (int i = 0; i < generations.length; i++) {
                generations[i] = in.readInt();
            }
        } catch (IOException | RuntimeException e) {
            throw new Fault("Load snapshot error: Failed to restore from snapshot: Failed to get snapshot state from file: "
                    + statePath + ": " + e.getMessage());
        }
        JsonObject savedMachine = config.getAsJsonObject("machine-config");
        long bytes = savedMachine.get("mem_size_mib").getAsLong() << 20;
        String overrideVsock = null;
        Map<String, JsonObject> savedNets = new LinkedHashMap<>();
        config.getAsJsonObject("network-interfaces").entrySet().forEach(e -> savedNets.put(e.getKey(), e.getValue().getAsJsonObject()));
        if (body.has("network_overrides")) {
            for (JsonElement o : body.getAsJsonArray("network_overrides")) {
                String iface = o.getAsJsonObject().get("iface_id").getAsString();
                if (!savedNets.containsKey(iface)) {
                    throw new Fault("Load snapshot error: Invalid network override: the snapshot has no network interface " + iface + ".");
                }
                savedNets.get(iface).add("host_dev_name", o.getAsJsonObject().get("host_dev_name"));
            }
        }
        if (body.has("vsock_override")) {
            if (!config.has("vsock")) {
                throw new Fault("Load snapshot error: Invalid vsock override: the snapshot has no vsock device.");
            }
            overrideVsock = body.getAsJsonObject("vsock_override").get("uds_path").getAsString();
        }
        String backendType = body.has("mem_backend") ? body.getAsJsonObject("mem_backend").get("backend_type").getAsString() : "File";
        String backendPath = body.has("mem_backend") ? body.getAsJsonObject("mem_backend").get("backend_path").getAsString()
                : body.get("mem_file_path").getAsString();
        // huge_pages: "Snapshot" (the default) keeps what the snapshot's VM had; "2M" needs the Uffd backend.
        String pages = body.has("huge_pages") ? body.get("huge_pages").getAsString() : "Snapshot";
        boolean huge = pages.equals("Snapshot") ? hugePages(savedMachine) : pages.equals("2M");
        MemorySegment memory;
        boolean anonymous;
        if (backendType.equals("File")) {
            if (huge) {
                throw new Fault("Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: "
                        + "hugetlbfs pages require a UFFD memory backend.");
            }
            memory = mapFile(Path.of(backendPath), bytes);
            anonymous = false;
        } else {
            memory = handOverToHandler(Path.of(backendPath), bytes, huge);
            anonymous = true;
        }
        machine = savedMachine;
        machine.addProperty("huge_pages", huge ? "2M" : pages.equals("Snapshot") ? savedMachine.get("huge_pages").getAsString() : pages);
        machine.addProperty("track_dirty_pages", body.has("track_dirty_pages") && body.get("track_dirty_pages").getAsBoolean()
                || body.has("enable_diff_snapshots") && body.get("enable_diff_snapshots").getAsBoolean());
        networks.putAll(savedNets);
        if (config.has("vsock")) {
            vsock = config.getAsJsonObject("vsock");
            if (overrideVsock != null) {
                vsock.addProperty("uds_path", overrideVsock);
            }
        }
        config.getAsJsonObject("drives").entrySet().forEach(e -> drives.put(e.getKey(), e.getValue().getAsJsonObject()));
        synchronized (guestLock) {
            guest = new Guest(memory, generations, anonymous, huge);
            generation = savedGeneration;
            verified = -1;
        }
        startDevices(vsock == null ? null : vsock.get("uds_path").getAsString());
        boolean resume = body.has("resume_vm") && body.get("resume_vm").getAsBoolean();
        state = resume ? State.RUNNING : State.PAUSED;
        log("Loaded snapshot " + statePath + " with the " + backendType + " backend" + (resume ? "; resumed" : ""));
        if (resume) {
            Thread.ofPlatform().name("fc_vcpu 0").start(this::touchAfterRestore);
        }
        return Response.noContent();
    }

    private MemorySegment mapFile(Path file, long bytes) {
        try {
            long size = Files.size(file);
            if (size != bytes) {
                throw new Fault("Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: the memory file "
                        + file + " has " + size + " bytes, the snapshot's guest memory " + bytes + " bytes.");
            }
        } catch (IOException e) {
            throw new Fault("Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: Cannot open the memory file: "
                    + file + ": " + e.getMessage());
        }
        return map(() -> {
            int fd = FileIo.open(file, FileIo.O_RDONLY | FileIo.O_CLOEXEC);
            try {
                // Firecracker maps the memory file privately: writes never reach the snapshot.
                return Memory.mmap(0, bytes, Memory.PROT_READ | Memory.PROT_WRITE, Memory.MAP_PRIVATE | Memory.MAP_NORESERVE, fd, 0);
            } finally {
                dev.sabre.linux.Fds.closeQuietly(fd);
            }
        }, "Failed to load guest memory");
    }

    /**
     * Firecracker's Uffd backend: anonymous memory (on 2 MiB hugetlb pages when {@code huge}), a registered
     * userfaultfd, and the handshake to the handler, whose page sizes are then 2 MiB.
     */
    private MemorySegment handOverToHandler(Path socket, long bytes, boolean huge) {
        MemorySegment memory = map(() -> anonymousMemory(bytes, huge), "Cannot allocate guest memory");
        long pageSize = huge ? HugePages.SIZE : Guest.PAGE;
        try (Userfaultfd uffd = Userfaultfd.create(true, false)) {
            uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
            uffd.register(memory.address(), bytes, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
            UnixSocket connection;
            try {
                connection = UnixSocket.connect(socket);
            } catch (LinuxException e) {
                throw new Fault("Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: Cannot connect to UDS in order "
                        + "to send information on handling guest memory page-faults due to: " + e.getMessage());
            }
            String regions = "[{\"base_host_virt_addr\":" + memory.address() + ",\"size\":" + bytes
                    + ",\"offset\":0,\"page_size\":" + pageSize + ",\"page_size_kib\":" + pageSize + "}]";
            connection.send(regions.getBytes(StandardCharsets.UTF_8), uffd.fd());
            // Firecracker keeps the connection for the VM's life; the handler sees EOF when it exits.
            uffdConnection = connection;
            log("Sent the guest memory regions and the userfaultfd to " + socket + ": " + regions);
            // Closing our uffd descriptor leaves the handler's copy in charge of the memory.
        } catch (LinuxException e) {
            throw new Fault("Load snapshot error: Failed to restore from snapshot: Failed to load guest memory: " + e.getMessage());
        }
        return memory;
    }

    private static boolean hugePages(JsonObject machine) {
        return machine.has("huge_pages") && machine.get("huge_pages").getAsString().equals("2M");
    }

    /** Guest memory as Firecracker maps it: private anonymous, on the host's 2 MiB hugetlb pages with huge_pages "2M". */
    private static MemorySegment anonymousMemory(long bytes, boolean huge) throws LinuxException {
        return huge ? HugePages.mapAnonymous(bytes) : Memory.mapAnonymous(bytes);
    }

    /** The first thing a restored guest does: touch its memory; wrong memory crashes it. */
    private void touchAfterRestore() {
        synchronized (guestLock) {
            try {
                verified = guest.verify();
                log("guest: " + verified + " pages match the snapshot");
            } catch (RuntimeException e) {
                log("guest: CRASH: " + e.getMessage());
                Runtime.getRuntime().halt(70);
            }
        }
    }

    // ---- devices ----

    private void startDevices(String vsockPath) {
        try {
            if (vsockPath != null) {
                Files.deleteIfExists(Path.of(vsockPath));
                vsockListener = UnixSocket.listen(Path.of(vsockPath), 8);
            }
            String port = System.getenv(ENV_GUEST_PORT);
            if (port != null && !port.isBlank()) {
                ServerServiceDefinition greeter = ServerServiceDefinition.builder("fibonacci.Greeter")
                        .addMethod(GreeterClient.SAY_HELLO, ServerCalls.asyncUnaryCall((String name, io.grpc.stub.StreamObserver<String> reply) -> {
                            try {
                                reply.onNext(invoke(name));
                                reply.onCompleted();
                            } catch (RuntimeException e) {
                                reply.onError(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
                            }
                        }))
                        .build();
                grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", Integer.parseInt(port)))
                        .addService(greeter).build().start();
            }
        } catch (IOException e) {
            throw new Fault("Cannot start the devices: " + e.getMessage());
        }
    }

    /** One invocation: wait while paused, write a generation of pages, sometimes free pages like a balloon. */
    private String invoke(String name) {
        synchronized (guestLock) {
            while (state != State.RUNNING) {
                try {
                    guestLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted");
                }
            }
            generation++;
            guest.run(generation);
            try {
                if (generation % 2 == 0 && guest.balloon(generation)) {
                    guest.verify();
                }
            } catch (LinuxException e) {
                throw new IllegalStateException("balloon: " + e.getMessage());
            } catch (RuntimeException e) {
                log("guest: CRASH: " + e.getMessage());
                Runtime.getRuntime().halt(70);
            }
            return "Hello, " + name + "! (generation " + generation + (verified >= 0 ? ", " + verified + " pages checked after restore" : "") + ")";
        }
    }

    private interface Mapping {
        MemorySegment map() throws LinuxException;
    }

    private static MemorySegment map(Mapping m, String what) {
        try {
            return m.map();
        } catch (LinuxException e) {
            throw new Fault(what + ": " + e.getMessage());
        }
    }

    static Set<String> flags() {
        return FLAGS.keySet();
    }
}
