package dev.sabre.vmm.image;

import dev.sabre.oci.ImageConfig;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The image's process as Docker starts it: User resolved against the image's own /etc/passwd and /etc/group
 * (never the host's, also through links), the environment's defaults, the working directory; and the start
 * script run for real with the host's busybox and the compiled static sabre-exec helper (as root), which must
 * switch user, group and supplementary groups, enter the directory and keep exactly the image's environment.
 */
class ImageProcessTest {
    private static final String PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
            + "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            + "app:x:1000:1000:app user:/home/app:/bin/sh\n"
            + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    private static final String GROUP = "root:x:0:\ndaemon:x:1:\napp:x:1000:\nstaff:x:50:app,daemon\n"
            + "audio:x:29:app\nnogroup:x:65534:\n";

    @TempDir
    Path dir;

    private Path rootfs() throws Exception {
        Path root = Files.createDirectories(dir.resolve("rootfs"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), PASSWD);
        Files.writeString(root.resolve("etc/group"), GROUP);
        return root;
    }

    private static ImageConfig config(String user, List<String> env, String workDir) {
        return new ImageConfig(List.of("/bin/sh", "-c"), List.of("echo hi"), env, workDir, user, List.of());
    }

    @Test
    void usersAreResolvedAsDockerDoes() throws Exception {
        Path root = rootfs();
        ImageProcess rootUser = ImageProcess.of(config("", List.of(), ""), root, "test");
        assertEquals(List.of(0L, 0L), List.of(rootUser.uid(), rootUser.gid()));
        assertEquals("/", rootUser.workDir());
        assertEquals(List.of("PATH=" + ImageProcess.DEFAULT_PATH, "HOME=/root"), rootUser.env());
        assertEquals(List.of("/bin/sh", "-c", "echo hi"), rootUser.argv());

        ImageProcess app = ImageProcess.of(config("app", List.of("PATH=/opt/bin", "A=b=c"), "work"), root, "test");
        assertEquals(List.of(1000L, 1000L), List.of(app.uid(), app.gid()));
        assertEquals(List.of(50L, 29L), app.groups(), "supplementary groups: those listing the user");
        assertEquals(List.of("PATH=/opt/bin", "A=b=c", "HOME=/home/app"), app.env());
        assertEquals("/work", app.workDir(), "a relative WorkingDir is taken from /");

        ImageProcess byUid = ImageProcess.of(config("1000", List.of("HOME=/h"), "/srv"), root, "test");
        assertEquals(List.of(1000L, 1000L, 50L, 29L), List.of(byUid.uid(), byUid.gid(), byUid.groups().get(0), byUid.groups().get(1)));
        assertEquals(List.of("HOME=/h", "PATH=" + ImageProcess.DEFAULT_PATH), List.of(byUid.env().get(0), byUid.env().get(1)));

        ImageProcess named = ImageProcess.of(config("app:staff", List.of(), ""), root, "test");
        assertEquals(List.of(1000L, 50L), List.of(named.uid(), named.gid()));
        assertEquals(List.of(), named.groups(), "an explicit group replaces the supplementary groups");

        ImageProcess unknownUid = ImageProcess.of(config("4321:77", List.of(), ""), root, "test");
        assertEquals(List.of(4321L, 77L), List.of(unknownUid.uid(), unknownUid.gid()));
        assertTrue(unknownUid.env().contains("HOME=/"));

        ImageProcess noFiles = ImageProcess.of(config("5", List.of(), ""), Files.createDirectories(dir.resolve("empty")), "test");
        assertEquals(List.of(5L, 0L), List.of(noFiles.uid(), noFiles.gid()), "no /etc/passwd: the uid with group 0");
    }

    @Test
    void badUsersAndEnvironmentsAreOneLineErrors() throws Exception {
        Path root = rootfs();
        VmmException e = assertThrows(VmmException.class, () -> ImageProcess.of(config("ghost", List.of(), ""), root, "img"));
        assertEquals("image img: config: User 'ghost': no user 'ghost' in the image's /etc/passwd", e.getMessage());
        e = assertThrows(VmmException.class, () -> ImageProcess.of(config("app:ghosts", List.of(), ""), root, "img"));
        assertEquals("image img: config: User 'app:ghosts': no group 'ghosts' in the image's /etc/group", e.getMessage());
        e = assertThrows(VmmException.class, () -> ImageProcess.of(config("99999999999", List.of(), ""), root, "img"));
        assertTrue(e.getMessage().contains("User '99999999999'"), e.getMessage());
        e = assertThrows(VmmException.class, () -> ImageProcess.of(config("", List.of("JUSTANAME"), ""), root, "img"));
        assertEquals("image img: config: Env[0] 'JUSTANAME' is not NAME=value", e.getMessage());
        e = assertThrows(VmmException.class, () -> ImageProcess.of(config("", List.of("-u=x"), ""), root, "img"));
        assertTrue(e.getMessage().contains("Env[0]"), e.getMessage());
    }

    @Test
    void theImagesOwnFilesAreReadThroughLinksInsideTheRoot() throws Exception {
        Path root = Files.createDirectories(dir.resolve("linked"));
        Files.createDirectories(root.resolve("usr/lib/etc"));
        Files.writeString(root.resolve("usr/lib/etc/passwd"), "svc:x:321:322::/srv:/bin/sh\n");
        Files.createSymbolicLink(root.resolve("etc"), Path.of("/usr/lib/etc")); // absolute: from the image root
        ImageProcess svc = ImageProcess.of(config("svc", List.of(), ""), root, "img");
        assertEquals(List.of(321L, 322L), List.of(svc.uid(), svc.gid()));
        // A link that climbs out of the root is refused: the host's /etc/group is never read.
        Files.createSymbolicLink(root.resolve("usr/lib/etc/group"), Path.of("../../../../../../etc/group"));
        VmmException e = assertThrows(VmmException.class, () -> ImageProcess.of(config("svc:root", List.of(), ""), root, "img"));
        assertTrue(e.getMessage().contains("climbs out of the image root"), e.getMessage());
    }

    @Test
    void startScriptRunsTheProcessAsTheUserWithExactlyItsEnvironment() throws Exception {
        Path root = rootfs();
        Path work = Files.createDirectories(dir.resolve("work dir"));
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        ImageConfig config = new ImageConfig(List.of("sh", "-c"),
                List.of("echo \"uid=$(id -u) gid=$(id -g) groups=$(id -G) cwd=$(pwd) env=$(env | sort | tr '\\n' ' ')\"", "ignored $0"),
                List.of("PATH=/usr/bin:/bin", "QUOTED=it's \"x\" $HOME"), work.toString(), "app", List.of());
        ImageProcess process = ImageProcess.of(config, root, "test");
        Path exec = NativeBuild.compile(Cache.defaultCache(), "exec", "sabre-exec", "",
                NativeBuild.source(ImageRootfsBuilder.class, "/dev/sabre/vmm/image/native/sabre_exec.c"), List.of("-static"),
                StepLog.silent());
        assertTrue(Elf.isStatic(Files.readAllBytes(exec)), "the helper runs in any image: it is static");
        Path script = dir.resolve("process");
        Files.writeString(script, process.script("/bin/busybox", exec.toString()));
        Process p = new ProcessBuilder("/bin/busybox", "sh", script.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        // (the kernel keeps supplementary groups sorted; dash adds only PWD to the environment)
        assertEquals("uid=1000 gid=1000 groups=1000 29 50 cwd=" + work
                + " env=HOME=/home/app PATH=/usr/bin:/bin PWD=" + work + " QUOTED=it's \"x\" $HOME", out.replaceAll(" +$", ""));
        assertEquals(0, p.exitValue());

        Files.writeString(script, new ImageProcess(List.of("no-such-program"), List.of("PATH=/bin"), "/", 0, 0, List.of())
                .script("/bin/busybox", exec.toString()));
        Process missing = new ProcessBuilder("/bin/busybox", "sh", script.toString()).redirectErrorStream(true).start();
        String said = new String(missing.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(missing.waitFor(30, TimeUnit.SECONDS));
        assertEquals(127, missing.exitValue());
        assertEquals("sabre-exec: cannot execute 'no-such-program': No such file or directory", said);
    }
}
