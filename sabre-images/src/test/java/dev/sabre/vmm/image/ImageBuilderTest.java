package dev.sabre.vmm.image;

import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Image building against the real Debian archive: reuse of cached images, and a function that cannot build. */
class ImageBuilderTest {
    @Test
    void cachedImagesAreReused() throws Exception {
        ImageBuilder builder = ImageBuilder.standard(StepLog.stderr());
        GuestImage first = builder.build("fibonacci");
        StringBuilder progress = new StringBuilder();
        GuestImage again = new ImageBuilder(builder.cache(), builder.catalog(), l -> progress.append(l).append('\n'))
                .build("fibonacci");
        assertEquals(first, again);
        assertEquals("", progress.toString(), "nothing is rebuilt");
        assertTrue(Files.size(first.rootfs()) > 0);
    }

    @Test
    void functionWithUnknownPackageFailsClearly(@TempDir Path functions) throws Exception {
        Path common = Files.createDirectories(functions.resolve(FunctionCatalog.COMMON));
        Files.copy(FunctionCatalog.locate().root().resolve(FunctionCatalog.COMMON).resolve("sabre_greeter.py"),
                common.resolve("sabre_greeter.py"));
        Path broken = Files.createDirectories(functions.resolve("broken"));
        Files.writeString(broken.resolve("server.py"), "print('never runs')\n");
        Files.writeString(broken.resolve("packages"), "sabre-no-such-package-for-tests\n");
        ImageBuilder builder = new ImageBuilder(Cache.defaultCache(), new FunctionCatalog(functions), StepLog.stderr());
        VmmException e = assertThrows(VmmException.class, () -> builder.build("broken"));
        assertTrue(e.getMessage().contains("building the root file system of function broken failed"), e.getMessage());
        assertTrue(e.getMessage().contains("Unable to locate package sabre-no-such-package-for-tests"), e.getMessage());
        try (Stream<Path> left = Files.list(builder.cache().dir("rootfs"))) {
            assertEquals(0, left.filter(p -> p.getFileName().toString().startsWith("broken")).count(),
                    "no half-built tree or image is left behind");
        }
    }
}
