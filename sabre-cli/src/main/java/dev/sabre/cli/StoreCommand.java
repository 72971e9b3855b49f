package dev.sabre.cli;

import com.google.gson.GsonBuilder;
import dev.sabre.codec.CodecId;
import dev.sabre.format.PageList;
import dev.sabre.format.PageRun;
import dev.sabre.format.SnapshotReader;
import dev.sabre.restore.PageSource;
import dev.sabre.store.Manifest;
import dev.sabre.store.PageInput;
import dev.sabre.store.Puller;
import dev.sabre.store.Pusher;
import dev.sabre.store.SnapshotDisk;
import dev.sabre.store.SnapshotStore;
import dev.sabre.store.StoreLayout;
import dev.sabre.store.StoreMaintenance;
import dev.sabre.store.StoreSnapshots;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sabre store ...}: the content-addressed snapshot store (STORE.md) on a directory or an
 * S3-compatible bucket ({@code s3://bucket/prefix}; endpoint, region and credentials the AWS SDK's
 * standard way, or {@code --endpoint}).
 */
@Command(name = "store", mixinStandardHelpOptions = true,
        description = {"A deduplicating, content-addressed snapshot store on a directory or S3 (s3://bucket/prefix).",
                "S3: endpoint from --endpoint or AWS_ENDPOINT_URL; region and credentials from the AWS SDK's standard chain",
                "(AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles)."},
        subcommands = {StoreCommand.Push.class, StoreCommand.Pull.class, StoreCommand.Ls.class, StoreCommand.Du.class,
                StoreCommand.Rm.class, StoreCommand.Gc.class, StoreCommand.Verify.class})
public final class StoreCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The options every store command takes. */
    static final class Endpoint {
        @Option(names = "--endpoint", paramLabel = "URL", description = "S3 endpoint (default: AWS_ENDPOINT_URL, else AWS).")
        URI endpoint;

        SnapshotStore open(String location) throws IOException {
            return SnapshotStore.open(location, endpoint);
        }
    }

    @Command(name = "push", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Push a memory file (raw, sparse Diff with --diff, or .sabre) into a store as NAME; pages the store holds are not stored again.")
    static final class Push implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "IN", description = "Raw memory file, sparse Diff file (--diff) or .sabre snapshot.")
        Path in;

        @Parameters(index = "1", paramLabel = "STORE/NAME", description = "Directory or s3://bucket/prefix, then the snapshot's name.")
        String target;

        @Option(names = "--ws", paramLabel = "WS", description = "Working set: a page list, or a .sabre working set (its pages); stored for one-pass prefetch.")
        Path ws;

        @Option(names = "--diff", description = "IN is a sparse Diff file: holes are pages absent from the snapshot.")
        boolean diff;

        @Option(names = "--disk", paramLabel = "IMAGE", description = "The VM's root file system image: pages outside the working set that are "
                + "blocks of it, and not in the store yet, stay there (disk frames); restores and pulls then need the image (STORE.md).")
        Path disk;

        @Option(names = "--level", paramLabel = "N", description = "zstd level of every frame (default 9, the working set's 19; see STORE.md for why).")
        Integer level;

        @Option(names = "--ws-level", paramLabel = "N", description = "zstd level of the working set's frames (default 19, or --level when given).")
        Integer wsLevel;

        @Option(names = "--raw", description = "Store frames uncompressed, as REAP keeps its working set and memory (restore with --strategy reap); pages are still deduplicated.")
        boolean raw;

        @Option(names = "--threads", paramLabel = "N", description = "Compression threads (default: all cores).")
        int threads = Runtime.getRuntime().availableProcessors();

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            SnapshotStore.Ref ref = SnapshotStore.Ref.parse(target);
            List<PageRun> workingSet = ws == null ? List.of() : readWorkingSet(ws);
            Pusher.Options options = Pusher.Options.defaults().withThreads(threads).withIndexCache(StoreSnapshots.defaultCache());
            if (raw && (level != null || wsLevel != null)) {
                throw new IllegalArgumentException("--raw stores frames uncompressed: it takes no --level or --ws-level");
            }
            if (level != null) {
                options = options.withCodec(CodecId.ZSTD, level);
            }
            if (wsLevel != null) {
                options = options.withWorkingSetLevel(wsLevel);
            }
            if (raw) {
                options = options.raw();
            }
            try (SnapshotStore store = endpoint.open(ref.store()); PageInput input = PageInput.open(in, diff);
                 SnapshotDisk image = disk == null ? null : SnapshotDisk.open(disk)) {
                Pusher.Result r = Pusher.push(store, input, workingSet, image, ref.name(), options, new ProgressBar(System.err));
                long memory = input.memorySize();
                System.out.printf("pushed %s (%s) as %s in %s (%s): manifest %s%n", in, Units.bytes(memory), ref,
                        Units.nanos(r.nanos()), Units.rate(memory, r.nanos()), r.manifest().substring(0, 16));
                System.out.printf("  pages: %d present, %d zero, %d in the working set, %d new, %d already in the store, %d duplicates%n",
                        r.presentPages(), r.zeroPages(), r.workingSetPages(), r.newPages(), r.pagesFoundInStore(), r.duplicatePages());
                if (image != null) {
                    System.out.printf("  %d pages (%s) left in %s as disk frames%n", r.pagesOnDisk(),
                            Units.bytes(r.pagesOnDisk() * input.pageSize()), disk);
                }
                System.out.printf("  wrote %s in %d objects; fetched %s of pack indexes (the rest from the host cache); hashing took %s,"
                        + " compressing and writing %s%n", Units.bytes(r.bytesWritten()), r.objectsWritten(),
                        Units.bytes(r.indexBytesFetched()), Units.nanos(r.hashNanos()), Units.nanos(r.nanos() - r.hashNanos()));
            }
            return 0;
        }

        /** A page list, or a .sabre working set whose present pages (in its prefetch order when it has one) are the set. */
        private static List<PageRun> readWorkingSet(Path file) throws IOException {
            if (!PageSource.isSnapshot(file)) {
                return PageList.read(file);
            }
            try (SnapshotReader reader = SnapshotReader.open(file)) {
                if (!reader.prefetchOrder().isEmpty()) {
                    return reader.prefetchOrder();
                }
                List<PageRun> runs = new ArrayList<>();
                reader.extents().forEach(e -> runs.add(new PageRun(e.firstPage(), e.pageCount())));
                return runs;
            }
        }
    }

    @Command(name = "pull", mixinStandardHelpOptions = true, description = "Write a stored snapshot back as a (sparse) raw memory file.")
    static final class Pull implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STORE/NAME")
        String source;

        @Parameters(index = "1", paramLabel = "OUT", description = "Raw memory file to write.")
        Path out;

        @Option(names = "--parallel", paramLabel = "N", description = "Requests in flight (default 8).")
        int parallel = 8;

        @Option(names = {"-f", "--force"}, description = "Overwrite OUT if it exists.")
        boolean force;

        @Option(names = "--disk", paramLabel = "IMAGE", description = "The VM's root file system image, for a snapshot pushed with --disk.")
        Path disk;

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            if (Files.exists(out) && !force) {
                throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
            }
            SnapshotStore.Ref ref = SnapshotStore.Ref.parse(source);
            try (SnapshotStore store = endpoint.open(ref.store()); SnapshotDisk image = disk == null ? null : SnapshotDisk.open(disk)) {
                Puller.Result r = Puller.pull(store, ref.name(), image, out, parallel, new ProgressBar(System.err));
                System.out.printf("pulled %s into %s: %s of memory, %s of pages written, %s fetched in %d requests, in %s (%s)%n",
                        ref, out, Units.bytes(r.memoryBytes()), Units.bytes(r.pageBytesWritten()), Units.bytes(r.fetchedBytes()),
                        r.requests(), Units.nanos(r.nanos()), Units.rate(r.memoryBytes(), r.nanos()));
            }
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the snapshots in a store.")
    static final class Ls implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STORE")
        String location;

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            try (SnapshotStore store = endpoint.open(location)) {
                List<String> names = store.names(); // fails, in one line, before anything is printed
                PrintStream o = System.out;
                o.printf("%-32s %10s %10s %10s %10s %10s  %s%n", "NAME", "MEMORY", "PRESENT", "WS", "FRAMES", "ON DISK", "PUSHED");
                for (String name : names) {
                    Manifest m = store.manifest(name);
                    long ws = m.workingSet().stream().mapToLong(PageRun::pageCount).sum() * m.pageSize();
                    o.printf("%-32s %10s %10s %10s %10s %10s  %s%n", name, Units.bytes(m.memorySize()),
                            Units.bytes(m.presentPages() * m.pageSize()), Units.bytes(ws), Units.bytes(m.frameBytes()),
                            Units.bytes(m.diskPages() * m.pageSize()), Instant.ofEpochMilli(m.createdMillis()));
                }
            }
            return 0;
        }
    }

    @Command(name = "du", mixinStandardHelpOptions = true,
            description = "Bytes stored, bytes the snapshots would take each alone, bytes shared between them.")
    static final class Du implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STORE")
        String location;

        @Option(names = "--json", description = "Print one JSON object instead of a table.")
        boolean json;

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            try (SnapshotStore store = endpoint.open(location)) {
                StoreMaintenance.Usage u = StoreMaintenance.usage(store);
                if (json) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("store", store.location());
                    r.put("stored_bytes", u.storedBytes());
                    r.put("alone_bytes", u.aloneBytes());
                    r.put("shared_bytes", u.sharedBytes());
                    r.put("memory_bytes", u.memoryBytes());
                    List<Map<String, Object>> snapshots = new ArrayList<>();
                    for (StoreMaintenance.SnapshotUsage s : u.snapshots()) {
                        Map<String, Object> e = new LinkedHashMap<>();
                        e.put("name", s.name());
                        e.put("memory_bytes", s.memoryBytes());
                        e.put("alone_bytes", s.aloneBytes());
                        e.put("unique_bytes", s.uniqueBytes());
                        snapshots.add(e);
                    }
                    r.put("snapshots", snapshots);
                    System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(r));
                    return 0;
                }
                PrintStream o = System.out;
                o.printf("%-32s %10s %10s %10s%n", "NAME", "MEMORY", "ALONE", "UNIQUE");
                for (StoreMaintenance.SnapshotUsage s : u.snapshots()) {
                    o.printf("%-32s %10s %10s %10s%n", s.name(), Units.bytes(s.memoryBytes()), Units.bytes(s.aloneBytes()),
                            Units.bytes(s.uniqueBytes()));
                }
                o.printf(Locale.ROOT, "stored %s for %s of memory (1/%.1f); alone the snapshots would take %s; %s shared%n",
                        Units.bytes(u.storedBytes()), Units.bytes(u.memoryBytes()),
                        u.storedBytes() == 0 ? 0.0 : (double) u.memoryBytes() / u.storedBytes(), Units.bytes(u.aloneBytes()),
                        Units.bytes(u.sharedBytes()));
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a snapshot's name; gc later frees what only it used.")
    static final class Rm implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STORE/NAME")
        String target;

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            SnapshotStore.Ref ref = SnapshotStore.Ref.parse(target);
            try (SnapshotStore store = endpoint.open(ref.store())) {
                store.remove(ref.name());
                System.out.println("removed " + ref);
            }
            return 0;
        }
    }

    @Command(name = "gc", mixinStandardHelpOptions = true,
            description = "Delete objects no snapshot uses; waits for running pushes, never takes what a push needs.")
    static final class Gc implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STORE")
        String location;

        @Option(names = "--grace", paramLabel = "DURATION", description = "Spare unreferenced objects younger than this (default 10m; e.g. 0, 30s, 2h).")
        String grace = "10m";

        @Option(names = "--wait", paramLabel = "DURATION", description = "How long to wait for running pushes (default 10m).")
        String wait = "10m";

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            try (SnapshotStore store = endpoint.open(location)) {
                StoreMaintenance.GcResult r = StoreMaintenance.gc(store, duration(grace), duration(wait), new ProgressBar(System.err));
                System.out.printf("gc %s: %d objects in use, %d deleted (%s), %d unreferenced but younger than %s kept, %d stale locks removed%n",
                        store.location(), r.live(), r.deleted(), Units.bytes(r.deletedBytes()), r.keptYoung(), grace, r.staleLocks());
            }
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Read, hash and decode every object of a store, or of one snapshot (STORE/NAME); exit 3 when anything is damaged.")
    static final class Verify implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "STORE[/NAME]")
        String target;

        @Option(names = "--disk", paramLabel = "IMAGE", description = "With STORE/NAME pushed with --disk: also read its disk frames from "
                + "this image (the VM's root file system) and check them against their hashes.")
        Path disk;

        @Mixin
        Endpoint endpoint;

        @Override
        public Integer call() throws IOException {
            String location = target;
            String name = null;
            if (!isStore(target)) {
                SnapshotStore.Ref ref = SnapshotStore.Ref.parse(target);
                location = ref.store();
                name = ref.name();
            }
            if (disk != null && name == null) {
                throw new IllegalArgumentException("--disk checks one snapshot's disk frames: give STORE/NAME, not the whole store " + target);
            }
            try (SnapshotStore store = endpoint.open(location); SnapshotDisk image = disk == null ? null : SnapshotDisk.open(disk)) {
                StoreMaintenance.VerifyResult r = StoreMaintenance.verify(store, name, image, new ProgressBar(System.err));
                r.problems().forEach(p -> System.out.println("damaged: " + p));
                String onDisk = r.diskPagesChecked() > 0 ? String.format(Locale.ROOT, "; %d pages checked in %s", r.diskPagesChecked(), disk)
                        : r.diskPagesUnchecked() > 0 ? String.format(Locale.ROOT, "; %d pages in disk images not checked (verify STORE/NAME --disk IMAGE checks them)",
                        r.diskPagesUnchecked()) : "";
                System.out.printf("verified %s: %d snapshots, %d objects, %s read%s; %s%n", name == null ? store.location() : location + "/" + name,
                        r.snapshots(), r.objects(), Units.bytes(r.bytes()), onDisk, r.ok() ? "all intact" : r.problems().size() + " problems");
                return r.ok() ? 0 : Errors.CORRUPT;
            }
        }

        /** Whether {@code target} is itself a store (it has names or packs) rather than STORE/NAME. */
        private boolean isStore(String target) throws IOException {
            try (SnapshotStore store = endpoint.open(target)) {
                return !store.objects().list(StoreLayout.NAMES).isEmpty() || !store.objects().list(StoreLayout.PACKS).isEmpty();
            }
        }
    }

    /** Parses 0, 30s, 10m, 2h or an ISO-8601 duration (PT10M). */
    static Duration duration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("pt")) {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            }
            if (t.equals("0")) {
                return Duration.ZERO;
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1));
            return switch (t.charAt(t.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> throw new IllegalArgumentException();
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (examples: 0, 30s, 10m, 2h)");
        }
    }
}
