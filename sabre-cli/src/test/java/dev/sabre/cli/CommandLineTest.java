package dev.sabre.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sabre.linux.SparseFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as a user drives it: pack, inspect, verify and unpack a sparse Diff file made
 * with real holes (read back with SEEK_DATA), and one-line errors with the promised exit codes.
 */
class CommandLineTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    /** Runs the command line in-process, capturing what it prints. */
    static synchronized Run sabre(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** A 4 MiB Diff memory file: data in a few runs, holes elsewhere (never written, so truly sparse). */
    private Path sparseDiff() throws IOException {
        Path file = dir.resolve("diff.mem");
        Random random = new Random(5);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long page : new long[] {0, 1, 2, 100, 101, 600, 1023}) {
                byte[] bytes = ("page " + page + " of a diff snapshot; ").repeat(200).substring(0, 4096).getBytes(StandardCharsets.US_ASCII);
                bytes[random.nextInt(4096)] = (byte) random.nextInt();
                channel.write(ByteBuffer.wrap(bytes), page * 4096);
            }
        }
        return file;
    }

    @Test
    void packsADiffFileReadingOnlyItsDataExtents() throws IOException {
        Path diff = sparseDiff();
        assertTrue(SparseFile.dataExtents(diff).stream().mapToLong(SparseFile.Extent::length).sum() < Files.size(diff) / 10,
                "the test file must really be sparse on this file system");
        Path snap = dir.resolve("diff.sabre");
        Run pack = sabre("pack", diff.toString(), snap.toString(), "--diff");
        assertEquals(0, pack.exit(), pack.err());
        assertTrue(pack.out().contains("1017 absent"), pack.out());

        Run inspect = sabre("inspect", "--json", snap.toString());
        assertEquals(0, inspect.exit(), inspect.err());
        assertTrue(inspect.out().contains("\"absent\": 1017"), inspect.out());
        assertTrue(inspect.out().contains("\"stored\": 7"), inspect.out());

        Run verify = sabre("verify", snap.toString());
        assertEquals(0, verify.exit(), verify.err());
        assertTrue(verify.out().contains("OK"), verify.out());

        Path back = dir.resolve("back.mem");
        Run unpack = sabre("unpack", snap.toString(), back.toString());
        assertEquals(0, unpack.exit(), unpack.err());
        assertEquals(-1, Files.mismatch(diff, back));
        // Absent pages stay holes: the unpacked file is as sparse as the input.
        assertEquals(SparseFile.dataExtents(diff), SparseFile.dataExtents(back));
    }

    @Test
    void aFullFileWithHolesKeepsItsHolesAsZeroPages() throws IOException {
        Path full = sparseDiff();
        Path snap = dir.resolve("full.sabre");
        Run pack = sabre("pack", full.toString(), snap.toString());
        assertEquals(0, pack.exit(), pack.err());
        assertTrue(pack.out().contains("1017 zero") && pack.out().contains("0 absent"), pack.out());
    }

    @Test
    void aWorkingSetListBecomesThePrefetchOrder() throws IOException {
        Path diff = sparseDiff();
        Path list = Files.writeString(dir.resolve("ws.txt"), "# fault order\n600\n0-2\n1023\n");
        Path snap = dir.resolve("ws.sabre");
        Run pack = sabre("pack", diff.toString(), snap.toString(), "--diff", "--pages", list.toString(), "--policy", "partition");
        assertEquals(0, pack.exit(), pack.err());
        Run inspect = sabre("inspect", snap.toString());
        assertTrue(inspect.out().lines().anyMatch(l -> l.matches("\\s+prefetch\\s+5 .*")), inspect.out());

        Path bad = Files.writeString(dir.resolve("bad.txt"), "600\nseven\n");
        Run refused = sabre("pack", diff.toString(), dir.resolve("x.sabre").toString(), "--pages", bad.toString());
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("bad.txt:2") && refused.err().contains("'seven'"), refused.err());
    }

    @Test
    void badInputGivesOneLineAndANonZeroExit() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.sabre"), "not a snapshot at all, just text ".repeat(20));
        Run verify = sabre("verify", text.toString());
        assertEquals(Errors.CORRUPT, verify.exit());
        assertEquals(1, verify.err().lines().count(), verify.err());
        assertTrue(verify.err().startsWith("sabre verify: " + text + ": not a Sabre snapshot"), verify.err());

        Run missing = sabre("inspect", dir.resolve("nope.sabre").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("no such file"), missing.err());

        Run codec = sabre("pack", text.toString(), dir.resolve("o.sabre").toString(), "--codec", "brotli");
        assertEquals(1, codec.exit());
        assertTrue(codec.err().contains("unknown codec 'brotli'"), codec.err());

        Run notMemory = sabre("pack", text.toString(), dir.resolve("o.sabre").toString());
        assertEquals(1, notMemory.exit());
        assertTrue(notMemory.err().contains("not a positive multiple of the page size"), notMemory.err());

        Run usage = sabre("pack", "only-one-argument");
        assertEquals(2, usage.exit());
        assertFalse(usage.err().isBlank());
    }

    @Test
    void nothingIsOverwrittenOrLeftBehind() throws IOException {
        Path diff = sparseDiff();
        Path snap = Files.writeString(dir.resolve("keep.sabre"), "precious");
        Run refused = sabre("pack", diff.toString(), snap.toString());
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("--force"), refused.err());
        assertEquals("precious", Files.readString(snap));

        // A truncated snapshot: verify and unpack fail with exit 3 and unpack leaves no output file.
        Path good = dir.resolve("good.sabre");
        assertEquals(0, sabre("pack", diff.toString(), good.toString()).exit());
        byte[] bytes = Files.readAllBytes(good);
        Path cut = Files.write(dir.resolve("cut.sabre"), Arrays.copyOf(bytes, bytes.length - 100));
        assertEquals(Errors.CORRUPT, sabre("verify", cut.toString()).exit());
        Run unpack = sabre("unpack", cut.toString(), dir.resolve("out.mem").toString());
        assertEquals(Errors.CORRUPT, unpack.exit());
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("cut.sabre", "diff.mem", "good.sabre", "keep.sabre"), names);
        }
    }

    /** Huge pages with the file strategy are refused in one line before any image is built or VM started. */
    @Test
    void hugePagesWithTheFileStrategyAreRefusedAtOnce() {
        Run restore = sabre("vm", "restore", "fibonacci", "--strategy", "file", "--huge-pages");
        assertEquals(1, restore.exit(), restore.err());
        assertEquals("sabre restore: strategy file cannot use 2 MiB huge pages: the VMM maps the memory file itself, "
                + "and hugetlb memory is filled only through a page-fault handler\n", restore.err());
        Run e2e = sabre("e2e", "fibonacci", "--strategies", "file", "--huge-pages");
        assertEquals(1, e2e.exit(), e2e.err());
        assertTrue(e2e.err().startsWith("sabre e2e: huge pages need a strategy served by a page-fault handler"), e2e.err());
        assertEquals(1, e2e.err().lines().count(), e2e.err());
    }
}
