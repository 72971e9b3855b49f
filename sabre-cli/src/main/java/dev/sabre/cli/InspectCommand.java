package dev.sabre.cli;

import com.google.gson.GsonBuilder;
import dev.sabre.codec.CodecId;
import dev.sabre.format.FrameInfo;
import dev.sabre.format.SnapshotHeader;
import dev.sabre.format.SnapshotReader;
import dev.sabre.format.SnapshotStats;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code sabre inspect FILE}: what a snapshot holds, from its metadata alone (no frame is decoded). */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a snapshot's header, page classes, codec, frames and compression ratio.")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "Snapshot (.sabre).")
    Path file;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        try (SnapshotReader reader = SnapshotReader.open(file)) {
            if (json) {
                System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(report(reader)));
            } else {
                print(reader, System.out);
            }
        }
        return 0;
    }

    static Map<String, Object> report(SnapshotReader reader) {
        SnapshotHeader h = reader.header();
        SnapshotStats s = reader.stats();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("file", reader.path().toString());
        r.put("id", h.idHex());
        r.put("format_version", h.version());
        r.put("page_size", h.pageSize());
        r.put("memory_bytes", h.memorySize());
        r.put("codec", h.codec().label());
        r.put("level", h.level());
        r.put("policy", h.policy().label());
        r.put("frame_bound_pages", h.framePages());
        Map<String, Object> pages = new LinkedHashMap<>();
        pages.put("total", s.memoryPages());
        pages.put("zero", s.zeroPages());
        pages.put("stored", s.storedPages());
        pages.put("duplicate", s.copyPages());
        pages.put("absent", s.absentPages());
        pages.put("prefetch", s.prefetchPages());
        r.put("pages", pages);
        r.put("extents", s.extents());
        Map<String, Object> frames = new LinkedHashMap<>();
        frames.put("count", s.frames());
        frames.put("compressed", s.compressedFrames());
        frames.put("raw_fallback", s.rawFallbackFrames());
        frames.put("stored_bytes", s.storedBytes());
        frames.put("raw_bytes", s.rawFrameBytes());
        frames.put("largest_raw_bytes", reader.maxFrameBytes());
        r.put("frames", frames);
        r.put("file_bytes", s.fileBytes());
        r.put("ratio_memory", ratio(h.memorySize(), s.fileBytes()));
        r.put("ratio_nonzero", ratio(nonZeroBytes(h, s), s.fileBytes()));
        r.put("ratio_frames", ratio(s.rawFrameBytes(), s.storedBytes()));
        return r;
    }

    /** Bytes of present non-zero pages: what a format without zero-page detection would have to store. */
    private static long nonZeroBytes(SnapshotHeader h, SnapshotStats s) {
        return (s.storedPages() + s.copyPages()) * h.pageSize();
    }

    private static double ratio(long raw, long stored) {
        return stored == 0 ? 0 : Math.round(raw * 100.0 / stored) / 100.0;
    }

    private static void print(SnapshotReader reader, PrintStream o) {
        SnapshotHeader h = reader.header();
        SnapshotStats s = reader.stats();
        o.printf("%s%n", reader.path());
        o.printf("  snapshot id      %s (format version %d)%n", h.idHex(), h.version());
        o.printf("  memory           %s in %d pages of %s%n", Units.bytes(h.memorySize()), s.memoryPages(), Units.bytes(h.pageSize()));
        o.printf("  codec            %s%s, policy %s, frames of at most %s%n", h.codec().label(),
                h.codec() == CodecId.NONE ? "" : " level " + h.level(), h.policy().label(), Units.bytes((long) h.framePages() * h.pageSize()));
        o.println();
        o.printf("  %-12s %12s %8s %12s%n", "pages", "count", "memory", "bytes");
        row(o, "zero", s.zeroPages(), s, h);
        row(o, "stored", s.storedPages(), s, h);
        row(o, "duplicate", s.copyPages(), s, h);
        row(o, "absent", s.absentPages(), s, h);
        row(o, "prefetch", s.prefetchPages(), s, h);
        o.println();
        long largestStored = reader.frames().stream().mapToLong(FrameInfo::storedLength).max().orElse(0);
        o.printf("  frames           %d (%d compressed, %d kept raw), largest %s raw / %s stored%n", s.frames(),
                s.compressedFrames(), s.rawFallbackFrames(), Units.bytes(reader.maxFrameBytes()), Units.bytes(largestStored));
        o.printf("  page map         %d extents%n", s.extents());
        o.printf("  file             %s%n", Units.bytes(s.fileBytes()));
        o.printf("  ratio            %.2fx of the memory, %.2fx of its non-zero pages, %.2fx within frames%n",
                ratio(h.memorySize(), s.fileBytes()), ratio(nonZeroBytes(h, s), s.fileBytes()), ratio(s.rawFrameBytes(), s.storedBytes()));
    }

    private static void row(PrintStream o, String name, long pages, SnapshotStats s, SnapshotHeader h) {
        o.printf("  %-12s %12d %7.1f%% %12s%n", name, pages, s.memoryPages() == 0 ? 0 : pages * 100.0 / s.memoryPages(),
                Units.bytes(pages * h.pageSize()));
    }
}
