package dev.sabre.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ImageRefTest {
    private static final String HEX = "a".repeat(64);

    @Test
    void registryReferencesWithTagDigestOrNeither() {
        ImageRef tagged = ImageRef.parse("127.0.0.1:5000/python_list:latest");
        assertEquals(ImageRef.Transport.REGISTRY, tagged.transport());
        assertEquals("127.0.0.1:5000", tagged.host());
        assertEquals("python_list", tagged.repository());
        assertEquals("latest", tagged.tag());
        assertEquals("docker://127.0.0.1:5000/python_list:latest", tagged.skopeoName());
        assertTrue(tagged.loopbackRegistry());

        ImageRef pinned = ImageRef.parse("docker://registry.example.com/team/fn@sha256:" + HEX);
        assertNull(pinned.tag());
        assertEquals(new Digest(HEX), pinned.digest());
        assertEquals("docker://registry.example.com/team/fn@sha256:" + HEX, pinned.skopeoName());
        assertFalse(pinned.loopbackRegistry());

        assertEquals("latest", ImageRef.parse("localhost:5000/a/b").tag());
        assertTrue(ImageRef.parse("localhost/a").loopbackRegistry());
        assertTrue(ImageRef.parse("[::1]:5000/a:v1").loopbackRegistry());
        assertFalse(ImageRef.parse("127.example.com/a").loopbackRegistry());
    }

    @Test
    void localTransportsKeepTheirPathAndTag() {
        ImageRef layout = ImageRef.parse("oci:some/dir:v2");
        assertEquals(ImageRef.Transport.OCI, layout.transport());
        assertEquals(Path.of("some/dir").toAbsolutePath(), layout.path());
        assertEquals("oci:" + Path.of("some/dir").toAbsolutePath() + ":v2", layout.skopeoName());
        assertEquals(ImageRef.Transport.OCI_ARCHIVE, ImageRef.parse("oci-archive:/x/i.tar").transport());
        assertEquals("docker-archive:/x/i.tar", ImageRef.parse("docker-archive:/x/i.tar").skopeoName());
    }

    @Test
    void badReferencesSayWhatIsWrong() {
        assertEquals("image python_list: name the registry, as in host:port/repository:tag",
                assertThrows(OciException.class, () -> ImageRef.parse("python_list")).getMessage());
        assertEquals("image h:5000/UPPER:v1: not a valid repository name: UPPER",
                assertThrows(OciException.class, () -> ImageRef.parse("h:5000/UPPER:v1")).getMessage());
        assertEquals("image h:5000/a@sha256:12: digest: not a sha256 digest: sha256:12",
                assertThrows(OciException.class, () -> ImageRef.parse("h:5000/a@sha256:12")).getMessage());
        assertEquals("image h:5000/a:-bad: not a valid tag: -bad",
                assertThrows(OciException.class, () -> ImageRef.parse("h:5000/a:-bad")).getMessage());
        assertEquals("image oci:: no path after the transport",
                assertThrows(OciException.class, () -> ImageRef.parse("oci:")).getMessage());
        assertEquals("image reference is empty", assertThrows(OciException.class, () -> ImageRef.parse(" ")).getMessage());
    }
}
