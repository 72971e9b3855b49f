package dev.sabre.vmm.image;

import dev.sabre.oci.BlobStore;
import dev.sabre.oci.Digest;
import dev.sabre.oci.ImagePuller;
import dev.sabre.oci.ImageRoot;
import dev.sabre.oci.OciException;
import dev.sabre.vmm.StepLog;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * Builds the read-only ext4 root file system of a function that runs a container image: the image is resolved
 * and its missing blobs fetched into the image cache ({@code $SABRE_CACHE/oci}, shared with {@code sabre image
 * pull}); its layers are unpacked into a tree, to which the guest runtime is added under {@code /sabre} (busybox,
 * the image init, the static {@code sabre-exec} helper, the process as the image's config says and the function's
 * name) together with the mount points the init needs; then {@code mkfs.ext4 -d}, as for every function. The
 * image is named by a hash of the function's name, the image's manifest digest and the guest runtime, so an
 * unchanged image costs one manifest request and no blob, layer or mkfs.
 */
public final class ImageRootfsBuilder {
    private static final String INIT_RESOURCE = "/dev/sabre/vmm/image/image-init.sh";
    private static final String EXEC_RESOURCE = "/dev/sabre/vmm/image/native/sabre_exec.c";
    private static final List<String> MOUNT_POINTS = List.of("dev", "proc", "sys", "tmp", "run");

    /**
     * A function's root file system from its image.
     *
     * @param image        the ext4 image
     * @param manifest     the image's manifest digest
     * @param cached       true when the ext4 was already in the cache
     * @param blobsFetched blobs copied into the image cache by this build (0 when all were there)
     * @param bytesFetched their bytes
     * @param process      the process the guest starts, as written into the image (null when it was cached)
     */
    public record Built(Path image, Digest manifest, boolean cached, int blobsFetched, long bytesFetched,
                        ImageProcess process) {
    }

    /** The most an image may unpack to (regular files): a small compressed layer can inflate to fill a disk. */
    static final long MAX_IMAGE_BYTES = 16L << 30;
    /** Disk space left free for everything else on the cache's file system. */
    private static final long DISK_RESERVE = 1L << 30;

    private final Cache cache;
    private final StepLog progress;
    private final long maxImageBytes;

    public ImageRootfsBuilder(Cache cache, StepLog progress) {
        this(cache, progress, MAX_IMAGE_BYTES);
    }

    ImageRootfsBuilder(Cache cache, StepLog progress, long maxImageBytes) {
        this.cache = cache;
        this.progress = progress;
        this.maxImageBytes = maxImageBytes;
    }

    /** The cached root file system of an image function, built when the image or the guest runtime changed. */
    public Built build(FunctionSource function) {
        FunctionImage definition = function.image();
        String name = function.name();
        String reference = definition.reference();
        Path dir = cache.dir("rootfs");
        ImagePuller puller = new ImagePuller(new BlobStore(cache.root().resolve("oci")), ImagePuller.Options.defaults()
                .withInsecureRegistry(definition.insecureRegistry()).withAuthFile(definition.authFile())
                .withMaxBytes(unpackLimit(dir))
                .withProgress(progress::step));
        ImagePuller.Fetched fetched;
        try {
            fetched = puller.fetch(reference);
        } catch (OciException e) {
            throw new VmmException("function " + name + ": " + e.getMessage(), e);
        }
        progress.step("image " + reference + ": manifest " + fetched.manifestDigest().shortForm() + ", "
                + fetched.blobsFetched() + " blobs fetched (" + fetched.bytesFetched() + " bytes), "
                + (fetched.manifest().layers().size() + 1 - fetched.blobsFetched()) + " found in the image cache");
        byte[] init = InitramfsBuilder.resource(INIT_RESOURCE);
        byte[] busybox = RootfsBuilder.busybox();
        byte[] execSource = NativeBuild.source(ImageRootfsBuilder.class, EXEC_RESOURCE);
        Path exec = NativeBuild.compile(cache, "exec", "sabre-exec", "", execSource, List.of("-static"), progress);
        String key = new Cache.Hasher().add("image-rootfs-v1").add(name).add(fetched.manifestDigest().toString())
                .add(init).add(busybox).add(execSource).hex();
        Path image = dir.resolve(name + "-" + key + ".ext4");
        String where = "function " + name + " (image " + reference + ")";
        if (Files.isRegularFile(image)) {
            return new Built(image, fetched.manifestDigest(), true, fetched.blobsFetched(), fetched.bytesFetched(),
                    null);
        }
        progress.step("building root file system of " + name + " from image " + reference + " (manifest "
                + fetched.manifestDigest().shortForm() + ")");
        long pid = ProcessHandle.current().pid();
        Path work = dir.resolve(name + ".image-build" + pid);
        Path tmpImage = dir.resolve(image.getFileName() + ".tmp" + pid);
        Path log = cache.dir("logs").resolve("rootfs-" + name + ".log");
        ImageProcess process;
        try {
            Cache.deleteTree(work);
            Files.deleteIfExists(log);
            Path tree = puller.unpack(fetched, work.resolve("image")).rootfs();
            process = ImageProcess.of(fetched.config(), tree, reference);
            installRuntime(tree, name, process, init, busybox, Files.readAllBytes(exec), where);
            Ext4Image.make(tree, tmpImage, log);
            Cache.publish(tmpImage, image);
            Ext4Image.deleteStale(dir, name, image);
        } catch (IOException e) {
            throw new VmmException(where + ": building its root file system failed: " + e.getMessage() + " (log " + log + ")", e);
        } catch (OciException | VmmException e) {
            throw new VmmException(where + ": building its root file system failed: " + e.getMessage(), e);
        } finally {
            Cache.deleteTree(work);
            try {
                Files.deleteIfExists(tmpImage);
            } catch (IOException ignored) {
                // best effort
            }
        }
        return new Built(image, fetched.manifestDigest(), false, fetched.blobsFetched(), fetched.bytesFetched(), process);
    }

    /**
     * What the image's files may add up to: at most {@link #MAX_IMAGE_BYTES} (or the test's bound), and no more
     * than the disk under {@code dir} holds twice over with a reserve to spare, for the unpacked tree and the
     * ext4 made from it (its contents plus a fifth plus 64 MiB) side by side.
     */
    private long unpackLimit(Path dir) {
        long usable;
        try {
            usable = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return maxImageBytes; // the unpack itself will say what is wrong with the disk
        }
        long room = Math.max(0, usable - DISK_RESERVE - (64L << 20)) * 10 / 22;
        return Math.min(maxImageBytes, room);
    }

    /**
     * Adds the guest runtime to the unpacked image. Whatever the image holds at these names (a file, a link that
     * might point anywhere) is replaced, never written through.
     */
    private static void installRuntime(Path tree, String name, ImageProcess process, byte[] init, byte[] busybox,
                                       byte[] exec, String where) throws IOException {
        for (String mountPoint : MOUNT_POINTS) {
            realDirectory(tree.resolve(mountPoint));
        }
        ImageRoot.directories(tree, process.workDir(), where + ": WorkingDir");
        Path sabre = realDirectory(tree.resolve("sabre"));
        write(sabre.resolve("init"), init, true);
        write(sabre.resolve("busybox"), busybox, true);
        write(sabre.resolve("exec"), exec, true);
        write(sabre.resolve("process"), process.script("/sabre/busybox", "/sabre/exec").getBytes(StandardCharsets.UTF_8), false);
        write(sabre.resolve("function-name"), (name + "\n").getBytes(StandardCharsets.UTF_8), false);
    }

    /** {@code dir} as a real directory: anything else there (file, link) is removed first. */
    private static Path realDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Cache.deleteTree(dir);
            Files.createDirectory(dir);
        }
        return dir;
    }

    private static void write(Path file, byte[] bytes, boolean executable) throws IOException {
        Cache.deleteTree(file);
        Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
    }
}
