package dev.sabre.cli.image;

import dev.sabre.cli.Units;
import dev.sabre.oci.BlobStore;
import dev.sabre.oci.ImagePuller;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre image pull REF DIR}: DIR/rootfs and DIR/config.json from an image. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Pull an image into DIR/rootfs (its layers applied) and DIR/config.json (its OCI image config).",
                "REF: host:port/repo:tag, host:port/repo@sha256:..., oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE.",
                "Blobs are cached by digest in $SABRE_CACHE/oci (default ~/.cache/sabre/oci) and shared between images."})
public final class ImagePullCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF", description = "Image reference.")
    String reference;

    @Parameters(index = "1", paramLabel = "DIR", description = "Destination: must not exist, or be empty.")
    Path destination;

    @Mixin
    RegistryOptions registry;

    @Option(names = "--cache", paramLabel = "DIR", description = "Blob cache (an OCI layout directory).")
    Path cache;

    @Option(names = "--max-size", paramLabel = "SIZE",
            description = "Refuse an image whose files add up to more than SIZE (e.g. 4G; default: no limit).")
    String maxSize;

    @Override
    public Integer call() throws IOException {
        BlobStore store = cache != null ? new BlobStore(cache) : ImagePuller.defaultStore();
        ImagePuller puller = new ImagePuller(store, ImagePuller.Options.defaults()
                .withInsecureRegistry(registry.insecure).withAuthFile(registry.authFile)
                .withMaxBytes(maxSize == null ? Long.MAX_VALUE : Units.parseBytes(maxSize))
                .withProgress(message -> System.err.println("sabre image pull: " + message)));
        ImagePuller.Pulled pulled = puller.pull(reference, destination);
        ImagePuller.Stats s = pulled.stats();
        System.out.printf("pulled %s (manifest %s) into %s in %s%n", reference, pulled.manifest(), destination,
                Units.nanos(s.totalNanos()));
        System.out.printf("  blobs: %d fetched (%s), %d from the cache (%s); resolve %s, fetch %s, apply %s (%s of files)%n",
                s.blobsFetched(), Units.bytes(s.bytesFetched()), s.blobsCached(), Units.bytes(s.bytesCached()),
                Units.nanos(s.resolveNanos()), Units.nanos(s.fetchNanos()), Units.nanos(s.applyNanos()),
                Units.bytes(s.bytesApplied()));
        if (s.skippedPrivileged() > 0) {
            System.out.printf("  not root: %d ownerships and device nodes skipped%n", s.skippedPrivileged());
        }
        System.out.printf("  process: %s%s%s%n", String.join(" ", pulled.config().argv()),
                pulled.config().workingDir().isEmpty() ? "" : " (in " + pulled.config().workingDir() + ")",
                pulled.config().user().isEmpty() ? "" : " as " + pulled.config().user());
        return 0;
    }
}
