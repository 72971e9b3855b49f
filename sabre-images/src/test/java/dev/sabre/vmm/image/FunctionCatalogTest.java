package dev.sabre.vmm.image;

import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The functions directory: discovery, package lists, content hashes, unknown names. */
class FunctionCatalogTest {
    @Test
    void repositoryFunctionsAreFound() {
        FunctionCatalog catalog = FunctionCatalog.locate();
        assertTrue(catalog.names().containsAll(List.of("bfs", "chameleon", "cnn_image_classification",
                "dna_visualization", "fibonacci", "image_processing", "matmul", "ml_lr_prediction", "model_training",
                "pagerank", "python_list", "rnn_serving", "video_processing")), catalog.names().toString());
        assertEquals(List.of("python3-numpy", "python3-matplotlib", "python3-munkres"),
                catalog.get("dna_visualization").packages());
        assertEquals(List.of("python3-numpy"), catalog.get("matmul").packages());
        assertEquals(List.of(), catalog.get("fibonacci").packages());
    }

    @Test
    void unknownFunctionIsAClearError() {
        FunctionCatalog catalog = FunctionCatalog.locate();
        VmmException e = assertThrows(VmmException.class, () -> catalog.get("no_such_function"));
        assertTrue(e.getMessage().startsWith("unknown function 'no_such_function'"), e.getMessage());
        assertTrue(e.getMessage().contains("fibonacci"), e.getMessage());
        assertThrows(VmmException.class, () -> catalog.get("../etc"));
        assertThrows(VmmException.class, () -> catalog.get("_common"));
        assertThrows(VmmException.class, () -> ImageBuilder.standard(l -> { }).build("no_such_function"));
    }

    @Test
    void hashFollowsContentAndPackages(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("_common"));
        Files.writeString(root.resolve("_common/sabre_greeter.py"), "# runtime\n");
        Path f = Files.createDirectories(root.resolve("mine"));
        Files.writeString(f.resolve("server.py"), "print('v1')\n");
        Files.writeString(f.resolve("packages"), "# deps\npython3-numpy\n\n");
        FunctionCatalog catalog = new FunctionCatalog(root);
        String h1 = catalog.get("mine").hash();
        assertEquals(h1, catalog.get("mine").hash());
        Files.writeString(f.resolve("server.py"), "print('v2')\n");
        String h2 = catalog.get("mine").hash();
        assertNotEquals(h1, h2);
        Files.writeString(root.resolve("_common/sabre_greeter.py"), "# runtime 2\n");
        assertNotEquals(h2, catalog.get("mine").hash());
        Files.writeString(f.resolve("packages"), "not a package!\n");
        VmmException e = assertThrows(VmmException.class, () -> catalog.get("mine"));
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
    }

    @Test
    void imageFunctionsComeFromADirectoryOrTheCachesRecord(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectories(dir.resolve("functions"));
        Files.createDirectories(root.resolve("_common"));
        Path code = Files.createDirectories(root.resolve("code"));
        Files.writeString(code.resolve("server.py"), "print('hi')\n");
        Path fromDir = Files.createDirectories(root.resolve("boxed"));
        Files.writeString(fromDir.resolve("image"), "# the image this function runs\noci:layout:v2\ninsecure-registry\n");
        FunctionCatalog catalog = new FunctionCatalog(root, dir.resolve("cache/functions"));
        assertEquals(List.of("boxed", "code"), catalog.names());
        FunctionSource boxed = catalog.get("boxed");
        assertEquals(new FunctionImage("oci:" + fromDir.resolve("layout") + ":v2", true), boxed.image(),
                "a relative layout path is taken from the function's directory");
        assertEquals(null, catalog.get("code").image());

        // Defined from the command line: checked first, recorded when asked, found afterwards.
        FunctionImage registry = new FunctionImage("127.0.0.1:5000/sabre/fib:v1", false);
        FunctionSource candidate = catalog.imageFunction("fib-img", registry);
        assertEquals(registry, candidate.image());
        assertThrows(VmmException.class, () -> catalog.get("fib-img"), "not recorded before it is defined");
        catalog.define("fib-img", registry);
        assertEquals("127.0.0.1:5000/sabre/fib:v1\n", Files.readString(dir.resolve("cache/functions/fib-img/image")));
        assertEquals(List.of("boxed", "code", "fib-img"), catalog.names());
        assertEquals(candidate, catalog.get("fib-img"));
        FunctionImage moved = new FunctionImage("127.0.0.1:5000/sabre/fib:v2", false);
        assertNotEquals(candidate.hash(), catalog.define("fib-img", moved).hash(), "a redefinition changes the hash");

        VmmException taken = assertThrows(VmmException.class, () -> catalog.define("code", registry));
        assertTrue(taken.getMessage().startsWith("function code is defined by " + code), taken.getMessage());
        assertEquals(boxed, catalog.define("boxed", boxed.image()), "a directory naming the same image is that function");
        assertThrows(VmmException.class, () -> catalog.define("../escape", registry));
        assertThrows(VmmException.class, () -> new FunctionImage("no-host-here", false));

        Files.writeString(fromDir.resolve("image"), "oci:layout\nsomething-else\n");
        VmmException bad = assertThrows(VmmException.class, () -> catalog.get("boxed"));
        assertEquals(fromDir.resolve("image") + " line 2: 'something-else' is neither 'insecure-registry', 'authfile PATH' "
                + "nor a comment (the image reference is on line one)", bad.getMessage());

        // Credentials by reference: the auth file's path (relative to the function's directory) is kept, never its content.
        Files.writeString(fromDir.resolve("auth.json"), "{\"auths\":{}}");
        Files.writeString(fromDir.resolve("image"), "127.0.0.1:5000/sabre/private:v1\nauthfile auth.json\n");
        assertEquals(new FunctionImage("127.0.0.1:5000/sabre/private:v1", false, fromDir.resolve("auth.json")),
                catalog.get("boxed").image());
        FunctionImage withCredentials = new FunctionImage("127.0.0.1:5000/sabre/fib:v3", false, fromDir.resolve("auth.json"));
        catalog.define("fib-img", withCredentials);
        assertEquals("127.0.0.1:5000/sabre/fib:v3\nauthfile " + fromDir.resolve("auth.json") + "\n",
                Files.readString(dir.resolve("cache/functions/fib-img/image")));
        assertEquals(withCredentials, catalog.get("fib-img").image());
        Files.writeString(fromDir.resolve("image"), "127.0.0.1:5000/sabre/private:v1\nauthfile missing.json\n");
        assertEquals(fromDir.resolve("image") + ": auth file " + fromDir.resolve("missing.json") + " is not a readable file",
                assertThrows(VmmException.class, () -> catalog.get("boxed")).getMessage());
        Files.writeString(fromDir.resolve("image"), "# nothing\n");
        assertTrue(assertThrows(VmmException.class, () -> catalog.get("boxed")).getMessage().endsWith("names no image reference"));
    }
}
