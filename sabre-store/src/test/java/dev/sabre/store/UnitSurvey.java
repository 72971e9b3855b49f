package dev.sabre.store;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import dev.sabre.format.Datasets;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The measurement behind the store's unit (STORE.md, "Why 256 KiB frames at zstd 9"): the distinct
 * non-zero pages of a real memory file, in address order, framed at several sizes and zstd levels; the
 * stored size, compression and decode speed on one thread. Run by hand, not by surefire:
 * {@code java -cp ... dev.sabre.store.UnitSurvey python-json-512m [frames] [levels]}.
 */
public final class UnitSurvey {
    public static void main(String[] args) throws Exception {
        Path file = Datasets.memoryFile(args.length > 0 ? args[0] : "python-json-512m");
        int[] framePages = parse(args.length > 1 ? args[1] : "1,16,64,256,512");
        int[] levels = parse(args.length > 2 ? args[2] : "3,9,19");
        int pageSize = 4096;
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment memory = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            long pages = ch.size() / pageSize;
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            Set<String> seen = new HashSet<>();
            List<Long> distinct = new ArrayList<>();
            long nonZero = 0;
            for (long p = 0; p < pages; p++) {
                MemorySegment page = memory.asSlice(p * pageSize, pageSize);
                if (page.mismatch(MemorySegment.ofArray(new byte[pageSize])) < 0) {
                    continue;
                }
                nonZero++;
                if (seen.add(HexFormat.of().formatHex(sha.digest(page.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))))) {
                    distinct.add(p);
                }
            }
            long raw = distinct.size() * (long) pageSize;
            System.out.printf("%s: %d pages, %d non-zero, %d distinct non-zero (%.1f MiB)%n", file.getFileName(), pages,
                    nonZero, distinct.size(), raw / 1048576.0);
            System.out.println("frame_kib level stored_mib ratio_vs_memory compress_mb_s decode_mb_s");
            for (int level : levels) {
                for (int fp : framePages) {
                    Codec codec = Codecs.create(CodecId.ZSTD, level);
                    MemorySegment in = arena.allocate((long) fp * pageSize);
                    MemorySegment out = arena.allocate(codec.maxCompressedLength(fp * pageSize));
                    List<byte[]> frames = new ArrayList<>();
                    long stored = 0;
                    long t0 = System.nanoTime();
                    for (int i = 0; i < distinct.size(); i += fp) {
                        int n = Math.min(fp, distinct.size() - i);
                        for (int j = 0; j < n; j++) {
                            MemorySegment.copy(memory, distinct.get(i + j) * pageSize, in, (long) j * pageSize, pageSize);
                        }
                        int len = codec.compress(in.asSlice(0, (long) n * pageSize), out);
                        stored += len;
                        frames.add(out.asSlice(0, len).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    }
                    long t1 = System.nanoTime();
                    int i = 0;
                    for (byte[] f : frames) {
                        int n = Math.min(fp, distinct.size() - i);
                        codec.decompress(MemorySegment.ofArray(f), in.asSlice(0, (long) n * pageSize));
                        i += fp;
                    }
                    long t2 = System.nanoTime();
                    System.out.printf("%d %d %.2f %.1f %.0f %.0f%n", fp * pageSize / 1024, level, stored / 1048576.0,
                            ch.size() / (double) stored, raw / 1e6 / ((t1 - t0) / 1e9), raw / 1e6 / ((t2 - t1) / 1e9));
                }
            }
        }
    }

    private static int[] parse(String list) {
        return java.util.Arrays.stream(list.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
