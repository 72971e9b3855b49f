package dev.sabre.cli;

import static dev.sabre.cli.CommandLineTest.sabre;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.e2e.VmSettings;
import dev.sabre.oci.RegistryServer;
import dev.sabre.oci.TestImages;
import dev.sabre.vmm.GuestImage;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.Vm;
import dev.sabre.vmm.WorkDir;
import dev.sabre.vmm.image.Cache;
import dev.sabre.vmm.image.FunctionCatalog;
import dev.sabre.vmm.image.ImageBuilder;
import dev.sabre.vmm.qemu.QemuDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Functions from container images in real microVMs (QEMU, TCG here): fibonacci built from its Dockerfile with
 * {@code sabre image build --push} to a real registry (Debian's docker-registry, started here), defined with
 * {@code sabre vm build NAME --image REF} from the registry, from an OCI layout and from a docker archive (both
 * made by skopeo), booted and answering; the second build of the unchanged image fetches no blob (the
 * registry's access log says so); the archive's image runs as a user with groups, an environment and a working
 * directory of its own, which its process reports on the console. Three boots in all.
 */
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class VmImageCommandTest {
    private static final String FIB_10 = "fn: Fib: y = fib(x) | x: 10 y: 55.0 | runtime: python";
    private static final Pattern BUILT_IN = Pattern.compile(": built in ([0-9.]+) s");

    @TempDir
    Path dir;

    private final String suffix = UUID.randomUUID().toString().substring(0, 8);
    private final List<String> defined = new ArrayList<>();

    /** The image functions this test defined, and their root file systems, are removed from the cache. */
    @AfterEach
    void forgetFunctions() throws Exception {
        Cache cache = Cache.defaultCache();
        for (String name : defined) {
            WorkDir.deleteTree(new FunctionCatalog(FunctionCatalog.locate().root()).imageFunctions().resolve(name));
            try (Stream<Path> images = Files.list(cache.dir("rootfs"))) {
                for (Path p : images.filter(p -> p.getFileName().toString().startsWith(name + "-")).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private String name(String kind) {
        String name = "test-image-" + kind + "-" + suffix;
        defined.add(name);
        return name;
    }

    private static double buildSeconds(CommandLineTest.Run run) {
        Matcher m = BUILT_IN.matcher(run.out());
        assertTrue(m.find(), run.out());
        return Double.parseDouble(m.group(1));
    }

    private static void run(String... command) throws Exception {
        TestImages.run(List.of(command));
    }

    @Test
    void fibonacciImageFromARegistryALayoutAndADockerArchiveAnswersInAMicroVm() throws Exception {
        try (RegistryServer registry = RegistryServer.start(dir.resolve("registry"), null)) {
            String ref = registry.host() + "/sabre/fibonacci:v1";
            CommandLineTest.Run build = sabre("image", "build", "fibonacci", "--push", ref);
            assertEquals(0, build.exit(), build.err());
            // buildah's layer cache keeps an unchanged function's digests, so an earlier pull (sabre e2e --images, another
            // test) may have left every blob of it in the user's image cache: a layer of this test's own makes sure the
            // first build below has something to fetch.
            String unique = "localhost/sabre-test/fibonacci-registry-" + suffix + ":latest";
            String marked = derivedContainer();
            run("buildah", "run", "--isolation", "chroot", marked, "--", "sh", "-c", "echo " + suffix + " > /sabre-test-id");
            run("buildah", "commit", "--quiet", "--rm", marked, unique);
            try {
                run("buildah", "push", "--quiet", "--tls-verify=false", unique, "docker://" + ref);
            } finally {
                new ProcessBuilder("buildah", "rmi", unique).start().waitFor();
            }

            // From the registry: the first build fetches every blob, the second none and reuses the root file system.
            String fromRegistry = name("registry");
            CommandLineTest.Run first = sabre("vm", "build", fromRegistry, "--image", ref);
            assertEquals(0, first.exit(), first.err());
            // (the image cache is the user's: blobs an earlier pull left there, such as the Debian base layer, are not fetched)
            Matcher fetched = Pattern.compile("(\\d+) blobs fetched").matcher(first.err());
            assertTrue(fetched.find(), first.err());
            int gets = registry.blobGets().size();
            assertEquals(Integer.parseInt(fetched.group(1)), gets, "what the build says it fetched is what the registry served");
            assertTrue(gets >= 1, "at least the test's own layer is new");
            CommandLineTest.Run second = sabre("vm", "build", fromRegistry, "--image", ref);
            assertEquals(0, second.exit(), second.err());
            assertEquals(gets, registry.blobGets().size(), "the second build fetches no blob");
            assertTrue(second.err().contains("0 blobs fetched"), second.err());
            assertTrue(!second.err().contains("building root file system"), second.err());
            assertEquals(first.out().lines().filter(l -> l.contains("rootfs")).toList(),
                    second.out().lines().filter(l -> l.contains("rootfs")).toList(), "the same ext4");
            double t1 = buildSeconds(first);
            double t2 = buildSeconds(second);
            System.out.printf("vm build --image %s: first %.2f s, second (cached) %.2f s, ratio %.3f%n", ref, t1, t2, t2 / t1);
            CommandLineTest.Run vmRun = sabre("vm", "run", fromRegistry, "--input", "10", "--memory", "256", "--timeout", "400");
            assertEquals(0, vmRun.exit(), vmRun.err());
            assertTrue(vmRun.out().startsWith(FIB_10 + "\n"), vmRun.out());

            // From an OCI layout that skopeo made of the pushed image.
            Path layout = dir.resolve("layout");
            run("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + ref, "oci:" + layout + ":fib");
            String fromLayout = name("layout");
            CommandLineTest.Run layoutBuild = sabre("vm", "build", fromLayout, "--image", "oci:" + layout + ":fib");
            assertEquals(0, layoutBuild.exit(), layoutBuild.err());
            CommandLineTest.Run layoutRun = sabre("vm", "run", fromLayout, "--input", "10", "--memory", "256", "--timeout", "400");
            assertEquals(0, layoutRun.exit(), layoutRun.err());
            assertTrue(layoutRun.out().startsWith(FIB_10 + "\n"), layoutRun.out());

            // A docker archive of an image that runs as nobody, with a supplementary group, an environment
            // variable and a working directory of its own; the process prints what it got on the console.
            String user = "localhost/sabre-test/fibonacci-user-" + suffix + ":latest";
            String container = derivedContainer();
            try {
                run("buildah", "run", "--isolation", "chroot", container, "--", "sh", "-c",
                        "echo sabretest:x:4242:daemon,nobody >> /etc/group");
                run("buildah", "config", "--user", "nobody", "--env", "GREETING=it's \"quoted\" & more", "--workingdir", "/tmp",
                        "--entrypoint", "[\"/bin/sh\", \"-c\", \"echo \\\"sabre-test: uid=$(id -u) gid=$(id -g) groups=$(id -G) "
                                + "cwd=$(pwd) greeting=$GREETING home=$HOME arg=$0\\\"; cd /sabre/function && exec python3 -u server.py\"]",
                        container);
                run("buildah", "config", "--cmd", "[\"from-cmd\"]", container); // Entrypoint + Cmd, as Docker joins them
                run("buildah", "commit", "--quiet", "--rm", container, user);
                container = null;
                Path archive = dir.resolve("fibonacci-user.tar");
                run("skopeo", "copy", "--quiet", "containers-storage:" + user, "docker-archive:" + archive);
                String fromArchive = name("archive");
                CommandLineTest.Run archiveBuild = sabre("vm", "build", fromArchive, "--image", "docker-archive:" + archive);
                assertEquals(0, archiveBuild.exit(), archiveBuild.err());
                ImageBuilder images = ImageBuilder.standard(StepLog.stderr());
                GuestImage image = images.build(fromArchive);
                QemuDriver driver = new QemuDriver(images.cache(), StepLog.stderr());
                try (Vm vm = driver.boot(VmSettings.defaults().withMemoryMiB(256).withReadyTimeout(Duration.ofSeconds(400))
                        .spec(image))) {
                    assertEquals(FIB_10, driver.invoke(vm, "10").reply());
                    String console = Files.readString(vm.serialLog());
                    assertTrue(console.contains("sabre-test: uid=65534 gid=65534 groups=65534 4242 cwd=/tmp "
                            + "greeting=it's \"quoted\" & more home=/nonexistent arg=from-cmd"), console);
                }
            } finally {
                if (container != null) {
                    new ProcessBuilder("buildah", "rm", container).start().waitFor();
                }
                new ProcessBuilder("buildah", "rmi", user).start().waitFor();
            }
        }
    }

    /** A working container from the function image {@code sabre image build} made; buildah names it. */
    private static String derivedContainer() throws Exception {
        Process p = new ProcessBuilder("buildah", "from", "--quiet", "--pull-never", "localhost/sabre-function/fibonacci:latest")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void badDefinitionsAreOneLineErrors() {
        CommandLineTest.Run taken = sabre("vm", "build", "fibonacci", "--image", "127.0.0.1:1/sabre/x:v1");
        assertEquals(1, taken.exit());
        assertTrue(taken.err().contains("function fibonacci is defined by ") && taken.err().contains("functions/fibonacci/image"),
                taken.err());
        CommandLineTest.Run badRef = sabre("vm", "build", name("bad"), "--image", "no-host-here");
        assertEquals(1, badRef.exit());
        assertEquals(1, badRef.err().strip().lines().count(), badRef.err());
        CommandLineTest.Run down = sabre("vm", "build", name("down"), "--image", "127.0.0.1:1/sabre/x:v1");
        assertEquals(1, down.exit());
        assertTrue(down.err().contains("127.0.0.1:1/sabre/x:v1") && down.err().contains("connection refused"), down.err());
    }
}
