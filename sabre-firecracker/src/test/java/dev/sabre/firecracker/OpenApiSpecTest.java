package dev.sabre.firecracker;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sabre.firecracker.standin.OpenApiSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official API file is read as it is, and the validator understands every schema in it. */
class OpenApiSpecTest {
    private final OpenApiSpec spec = OpenApiSpec.load(OpenApiSpec.locate());

    @Test
    void theFileIsTheOfficialOne() {
        assertEquals("1.17.0-dev", spec.version());
        for (String path : List.of("/boot-source", "/machine-config", "/drives/{drive_id}", "/network-interfaces/{iface_id}",
                "/vsock", "/actions", "/vm", "/snapshot/create", "/snapshot/load")) {
            assertTrue(spec.paths().contains(path), path);
        }
        assertEquals("/drives/{drive_id}", spec.template("/drives/rootfs"));
    }

    /** Every body schema of every operation resolves, down through its $refs, without an unsupported construct. */
    @Test
    void everyBodySchemaResolves() {
        int bodies = 0;
        for (String path : spec.paths()) {
            for (String method : spec.methods(path)) {
                Map<String, Object> schema = spec.bodySchema(path, method);
                if (schema != null) {
                    spec.validate(schema, new JsonObject());
                    bodies++;
                }
            }
        }
        assertTrue(bodies >= 20, "only " + bodies + " request bodies found");
    }

    /** YAML 1.1 would read the Logger level Off as a boolean; it is a string here. */
    @Test
    void enumWordsStayStrings() {
        assertEquals(List.of(), spec.validate(spec.definition("Logger"), JsonParser.parseString("{\"level\": \"Off\"}")));
        assertEquals(List.of(), spec.validate(spec.definition("MachineConfiguration"),
                JsonParser.parseString("{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"huge_pages\": \"2M\"}")));
    }

    /** The bodies the driver sends, as it builds them, are valid. */
    @Test
    void theDriversBodiesAreValid() {
        String load = "{\"snapshot_path\": \"/s/vmstate\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"/h.sock\"},"
                + " \"track_dirty_pages\": true, \"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"sfc1\"}],"
                + " \"vsock_override\": {\"uds_path\": \"/v.sock\"}}";
        assertEquals(List.of(), spec.validate(spec.definition("SnapshotLoadParams"), JsonParser.parseString(load)));
        String create = "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"/s/vmstate\", \"mem_file_path\": \"/s/memory\"}";
        assertEquals(List.of(), spec.validate(spec.definition("SnapshotCreateParams"), JsonParser.parseString(create)));
    }

    @Test
    void violationsNameThePathAtFault() {
        List<String> errors = spec.validate(spec.definition("SnapshotLoadParams"),
                JsonParser.parseString("{\"mem_backend\": {\"backend_type\": \"Shm\", \"backend_path\": 3}, \"extra\": 1}"));
        assertTrue(errors.contains("$: missing required property 'snapshot_path'"), errors.toString());
        assertTrue(errors.contains("$.mem_backend.backend_type: 'Shm' is not one of [File, Uffd]"), errors.toString());
        assertTrue(errors.contains("$.mem_backend.backend_path: expected string, got number 3"), errors.toString());
        assertFalse(errors.stream().noneMatch(e -> e.startsWith("$: unknown property 'extra'")), errors.toString());
        assertNotNull(spec.file());
    }
}
