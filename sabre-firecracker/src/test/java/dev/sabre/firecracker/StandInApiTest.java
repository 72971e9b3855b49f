package dev.sabre.firecracker;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sabre.firecracker.standin.OpenApiSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stand-in answers as Firecracker does: request bodies are checked against the API file's schemas
 * (unknown properties, missing required ones, types, enums, bounds, nested $refs), and refusals come as
 * HTTP 400 with {@code {"fault_message": ...}}, which the client turns into a {@link FirecrackerException}.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class StandInApiTest {
    @TempDir
    static Path shared;
    static Path binary;
    static OpenApiSpec spec;

    @TempDir
    Path tmp;
    Process process;
    ApiClient api;

    @BeforeAll
    static void standIn() throws IOException {
        binary = Targets.standInBinary(shared, Targets.freePort());
        spec = OpenApiSpec.load(OpenApiSpec.locate());
    }

    @BeforeEach
    void start() throws Exception {
        Path socket = tmp.resolve("api.sock");
        process = new ProcessBuilder(binary.toString(), "--api-sock", socket.toString(), "--id", "api-test")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("out.log").toFile()).start();
        // Between bind and listen the socket exists but refuses connections: wait until one is accepted.
        while (!accepts(socket)) {
            assertTrue(process.isAlive(), () -> "stand-in exited: " + read(tmp.resolve("out.log")));
            Thread.sleep(5);
        }
        api = new ApiClient(socket, Duration.ofSeconds(20));
    }

    @AfterEach
    void stop() throws InterruptedException {
        api.close();
        process.destroyForcibly();
        process.waitFor();
    }

    private static boolean accepts(Path socket) {
        try (var probe = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            probe.connect(java.net.UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    private String rejected(String method, String path, String json) {
        FirecrackerException e = assertThrows(FirecrackerException.class, () -> api.send(
                org.eclipse.jetty.http.HttpMethod.fromString(method), path, json == null ? null : JsonParser.parseString(json).getAsJsonObject()));
        assertEquals(400, e.status());
        return e.faultMessage();
    }

    @Test
    void describesItselfWithBodiesThatMatchTheApiFile() {
        JsonElement info = api.get("/");
        assertEquals(java.util.List.of(), spec.validate(spec.definition("InstanceInfo"), info));
        assertEquals("Not started", info.getAsJsonObject().get("state").getAsString());
        JsonElement version = api.get("/version");
        assertEquals(java.util.List.of(), spec.validate(spec.definition("FirecrackerVersion"), version));
        assertEquals(java.util.List.of(), spec.validate(spec.definition("MachineConfiguration"), api.get("/machine-config")));
    }

    @Test
    void unknownPropertiesAreRejected() {
        String m = rejected("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"mem_size\": 1}");
        assertTrue(m.contains("$: unknown property 'mem_size'"), m);
    }

    @Test
    void missingRequiredPropertiesAreRejected() {
        String m = rejected("PUT", "/boot-source", "{\"boot_args\": \"quiet\"}");
        assertTrue(m.contains("$: missing required property 'kernel_image_path'"), m);
    }

    @Test
    void wrongTypesEnumsAndBoundsAreRejected() {
        assertTrue(rejected("PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 64}")
                .contains("$.vcpu_count: expected integer, got string \"2\""));
        assertTrue(rejected("PUT", "/machine-config", "{\"vcpu_count\": 1.5, \"mem_size_mib\": 64}")
                .contains("$.vcpu_count: expected integer"));
        assertTrue(rejected("PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 64}")
                .contains("$.vcpu_count: 33 is above the maximum 32"));
        assertTrue(rejected("PATCH", "/vm", "{\"state\": \"Stopped\"}").contains("$.state: 'Stopped' is not one of [Paused, Resumed]"));
        assertTrue(rejected("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/x\"}").contains("$.guest_cid: 2 is below the minimum 3"));
    }

    @Test
    void nestedReferencesAreResolved() {
        String m = rejected("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Uffd\"}}");
        assertTrue(m.contains("$.mem_backend: missing required property 'backend_path'"), m);
        String items = rejected("PUT", "/snapshot/load",
                "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": [{\"iface_id\": \"eth0\"}]}");
        assertTrue(items.contains("$.network_overrides[0]: missing required property 'host_dev_name'"), items);
    }

    @Test
    void unknownPathsAndMethodsAreRejected() {
        assertEquals("Invalid request method and/or path: GET /nope.", rejected("GET", "/nope", null));
        assertEquals("Invalid request method and/or path: DELETE /vm.", rejected("DELETE", "/vm", null));
    }

    @Test
    void theLifeCycleIsEnforced() {
        assertEquals("The requested operation is not supported before starting the microVM.",
                rejected("PATCH", "/vm", "{\"state\": \"Paused\"}"));
        assertEquals("Cannot start microvm without kernel configuration.",
                rejected("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"));
        assertTrue(rejected("PUT", "/drives/root", "{\"drive_id\": \"other\", \"is_root_device\": false}")
                .startsWith("The id from the path [root] does not match the id from the body [other]!"));
        JsonObject machine = JsonParser.parseString("{\"vcpu_count\": 1, \"mem_size_mib\": 64}").getAsJsonObject();
        api.put("/machine-config", machine);
        assertEquals("Loading a microVM snapshot not allowed after configuring boot-specific resources.",
                rejected("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}"));
    }

    @Test
    void exactlyOneMemorySourceIsRequiredOnLoad() {
        assertEquals("Either `mem_backend` or `mem_file_path` must be present at a time.",
                rejected("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\"}"));
    }
}
