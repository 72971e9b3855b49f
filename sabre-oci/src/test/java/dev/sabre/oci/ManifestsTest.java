package dev.sabre.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Manifests and configs from outside: every shape the puller must refuse, with the field named. */
class ManifestsTest {
    private static final String D = "sha256:" + "b".repeat(64);

    private static String refusal(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return assertThrows(OciException.class, () -> Manifests.parse(bytes, Digest.of(bytes), "img")).getMessage()
                .replaceFirst("sha256:[0-9a-f]{12}", "M");
    }

    @Test
    void unknownMediaTypesAndBrokenFieldsAreRefusedByName() {
        assertEquals("image img: manifest M: unknown manifest media type application/vnd.docker.distribution.manifest.v1+prettyjws",
                refusal("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+prettyjws\"}"));
        assertEquals("image img: manifest M: schemaVersion is 1, not 2", refusal("{\"schemaVersion\":1}"));
        assertEquals("image img: manifest M: layers[0] has unknown media type text/plain",
                refusal("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" + Manifests.OCI_CONFIG + "\",\"digest\":\"" + D
                        + "\",\"size\":1},\"layers\":[{\"mediaType\":\"text/plain\",\"digest\":\"" + D + "\",\"size\":1}]}"));
        assertEquals("image img: manifest M: config: digest: not a sha256 digest: sha256:../../etc",
                refusal("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" + Manifests.OCI_CONFIG
                        + "\",\"digest\":\"sha256:../../etc\",\"size\":1},\"layers\":[]}"));
        assertEquals("image img: manifest M: config: size is missing or negative",
                refusal("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" + Manifests.OCI_CONFIG
                        + "\",\"digest\":\"" + D + "\",\"size\":-5},\"layers\":[]}"));
        assertEquals("image img: manifest M: not valid JSON (java.io.EOFException: End of input at line 1 column 2 path $.)",
                refusal("{"));
    }

    @Test
    void anIndexNamesThePlatformsItHasWhenLinuxAmd64IsMissing() {
        String json = "{\"schemaVersion\":2,\"mediaType\":\"" + Manifests.OCI_INDEX + "\",\"manifests\":["
                + "{\"mediaType\":\"" + Manifests.OCI_MANIFEST + "\",\"digest\":\"" + D
                + "\",\"size\":3,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                + "{\"mediaType\":\"" + Manifests.OCI_MANIFEST + "\",\"digest\":\"" + D
                + "\",\"size\":3,\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        Manifests.Index index = (Manifests.Index) Manifests.parse(bytes, Digest.of(bytes), "img");
        assertEquals(2, index.manifests().size());
        OciException e = assertThrows(OciException.class, () -> index.linuxAmd64("img", Digest.of(bytes)));
        assertEquals("image img: index " + Digest.of(bytes).shortForm()
                + " has no linux/amd64 image (linux/arm64, windows/amd64)", e.getMessage());
    }

    @Test
    void aConfigMustBeLinuxAmd64AndNameAProcess() {
        byte[] arm = "{\"architecture\":\"arm64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"x\"]},\"rootfs\":{\"diff_ids\":[]}}"
                .getBytes(StandardCharsets.UTF_8);
        assertEquals("image img: config " + Digest.of(arm).shortForm() + ": image is for linux/arm64, not linux/amd64",
                assertThrows(OciException.class, () -> ImageConfig.parse(arm, Digest.of(arm), "img")).getMessage());
        byte[] ok = ("{\"config\":{\"Entrypoint\":[\"/usr/bin/python3\"],\"Cmd\":[\"server.py\"],\"Env\":[\"A=1\"]},"
                + "\"rootfs\":{\"diff_ids\":[\"" + D + "\"]}}").getBytes(StandardCharsets.UTF_8);
        ImageConfig config = ImageConfig.parse(ok, Digest.of(ok), "img");
        assertEquals(List.of("/usr/bin/python3", "server.py"), config.argv());
        assertEquals(List.of(Digest.parse(D, "d")), config.diffIds());
        assertEquals("", config.workingDir());
        byte[] badCmd = "{\"config\":{\"Cmd\":\"sh -c x\"},\"rootfs\":{\"diff_ids\":[]}}".getBytes(StandardCharsets.UTF_8);
        assertEquals("image img: config " + Digest.of(badCmd).shortForm() + ": config.Cmd is not an array of strings",
                assertThrows(OciException.class, () -> ImageConfig.parse(badCmd, Digest.of(badCmd), "img")).getMessage());
    }
}
