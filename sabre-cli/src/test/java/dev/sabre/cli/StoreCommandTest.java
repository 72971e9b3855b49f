package dev.sabre.cli;

import static dev.sabre.cli.CommandLineTest.sabre;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sabre.format.Datasets;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sabre store ...} as a user drives it, on a directory store and real guest memory, with a Diff file's holes kept absent. */
class StoreCommandTest {
    /** Where python-json-512m has 2,048 non-zero pages in a row. */
    private static final long FIRST_PAGE = 38912;

    @TempDir
    Path dir;

    /** 8 MiB of the real dataset where every page holds data, or a sparse Diff file of every third of those pages. */
    private Path realMemory(String name, boolean sparse) throws Exception {
        Path out = dir.resolve(name);
        try (FileChannel in = FileChannel.open(Datasets.memoryFile("python-json-512m"));
             FileChannel o = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer page = ByteBuffer.allocate(4096);
            for (long p = 0; p < 2048; p++) {
                if (sparse && p % 3 != 0) {
                    continue; // a hole: absent from the Diff
                }
                in.read(page.clear(), (FIRST_PAGE + p) * 4096);
                o.write(page.flip(), p * 4096);
            }
            if (sparse) {
                o.truncate(2048 * 4096L);
                try (RandomAccessFile f = new RandomAccessFile(out.toFile(), "rw")) {
                    f.setLength(2048 * 4096L);
                }
            }
        }
        return out;
    }

    @Test
    void pushListPullVerifyRemoveAndCollect() throws Exception {
        Path memory = realMemory("full.mem", false);
        Path store = dir.resolve("store");
        Files.writeString(dir.resolve("ws.txt"), "0-99\n1000+50\n");
        CommandLineTest.Run push = sabre("store", "push", memory.toString(), store + "/fn", "--ws", dir.resolve("ws.txt").toString());
        assertEquals(0, push.exit(), push.err());
        assertTrue(push.out().contains("2048 present, 0 zero"), push.out());

        Path diff = realMemory("diff.mem", true);
        CommandLineTest.Run pushDiff = sabre("store", "push", "--diff", diff.toString(), store + "/fn-diff");
        assertEquals(0, pushDiff.exit(), pushDiff.err());
        assertTrue(pushDiff.out().contains("683 present"), pushDiff.out());
        assertTrue(pushDiff.out().contains(" 0 new"), "every page of the Diff is in the store already: " + pushDiff.out());

        Path packed = dir.resolve("full.sabre");
        assertEquals(0, sabre("pack", memory.toString(), packed.toString(), "--policy", "fixed").exit());
        CommandLineTest.Run pushSabre = sabre("store", "push", packed.toString(), store + "/fn-sabre");
        assertEquals(0, pushSabre.exit(), pushSabre.err());
        assertTrue(pushSabre.out().contains(" 0 new"), "a .sabre of the same memory adds no pages: " + pushSabre.out());
        Path outSabre = dir.resolve("pulled-sabre.mem");
        assertEquals(0, sabre("store", "pull", store + "/fn-sabre", outSabre.toString()).exit());
        assertEquals(-1, mismatch(memory, outSabre));

        CommandLineTest.Run ls = sabre("store", "ls", store.toString());
        assertTrue(ls.out().contains("fn ") && ls.out().contains("fn-diff"), ls.out());

        CommandLineTest.Run du = sabre("store", "du", store.toString(), "--json");
        JsonObject usage = JsonParser.parseString(du.out()).getAsJsonObject();
        assertTrue(usage.get("stored_bytes").getAsLong() > 0);
        assertTrue(usage.get("shared_bytes").getAsLong() > 0, du.out());

        Path out = dir.resolve("pulled.mem");
        assertEquals(0, sabre("store", "pull", store + "/fn", out.toString()).exit());
        assertEquals(-1, mismatch(memory, out));
        Path outDiff = dir.resolve("pulled-diff.mem");
        assertEquals(0, sabre("store", "pull", store + "/fn-diff", outDiff.toString()).exit());
        assertEquals(-1, mismatch(diff, outDiff));

        assertEquals(0, sabre("store", "verify", store.toString()).exit());
        assertEquals(0, sabre("store", "verify", store + "/fn").exit());
        try (Stream<Path> packs = Files.list(store.resolve("packs"))) {
            Path pack = packs.findFirst().orElseThrow();
            byte[] bytes = Files.readAllBytes(pack);
            bytes[bytes.length / 2] ^= 1;
            Files.write(pack, bytes);
            CommandLineTest.Run verify = sabre("store", "verify", store.toString());
            assertEquals(Errors.CORRUPT, verify.exit());
            assertTrue(verify.out().contains(pack.getFileName().toString()), verify.out());
            CommandLineTest.Run pull = sabre("store", "pull", store + "/fn", dir.resolve("bad.mem").toString());
            assertEquals(1, pull.err().lines().count(), pull.err());
            assertTrue(pull.err().contains("packs/"), pull.err());
        }

        assertEquals(0, sabre("store", "rm", store + "/fn").exit());
        assertEquals(0, sabre("store", "rm", store + "/fn-diff").exit());
        assertEquals(0, sabre("store", "rm", store + "/fn-sabre").exit());
        CommandLineTest.Run gc = sabre("store", "gc", store.toString(), "--grace", "0");
        assertEquals(0, gc.exit(), gc.err());
        try (Stream<Path> left = Files.list(store.resolve("packs"))) {
            assertEquals(0, left.count());
        }
        CommandLineTest.Run missing = sabre("store", "pull", store + "/fn", dir.resolve("x.mem").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("names/fn") && missing.err().contains("no snapshot 'fn'"), missing.err());
    }

    @Test
    void aRawPushStoresFramesUncompressedAndStillDeduplicates() throws Exception {
        Path memory = realMemory("full.mem", false);
        Path store = dir.resolve("store");
        CommandLineTest.Run raw = sabre("store", "push", "--raw", memory.toString(), store + "/fn-raw");
        assertEquals(0, raw.exit(), raw.err());
        java.util.regex.Matcher counted = java.util.regex.Pattern.compile("(\\d+) new").matcher(raw.out());
        assertTrue(counted.find(), raw.out());
        long newPages = Long.parseLong(counted.group(1));
        CommandLineTest.Run again = sabre("store", "push", "--raw", memory.toString(), store + "/fn-raw-2");
        assertTrue(again.out().contains(" 0 new"), "a second raw push finds every page in the store: " + again.out());
        long stored;
        try (Stream<Path> packs = Files.list(store.resolve("packs"))) {
            stored = packs.mapToLong(p -> p.toFile().length()).sum();
        }
        assertEquals(newPages * 4096L, stored, "raw frames are the distinct pages themselves, stored once");
        Path out = dir.resolve("pulled-raw.mem");
        assertEquals(0, sabre("store", "pull", store + "/fn-raw-2", out.toString()).exit());
        assertEquals(-1, mismatch(memory, out));

        CommandLineTest.Run both = sabre("store", "push", "--raw", "--level", "3", memory.toString(), store + "/x");
        assertEquals(1, both.err().lines().count(), both.err());
        assertTrue(both.exit() != 0 && both.err().contains("--raw") && both.err().contains("--level"), both.err());
    }

    /**
     * A push with {@code --disk} leaves pages that are blocks of the image there: {@code ls} shows them, {@code verify}
     * says it left them unchecked or, given the image, checks them and finds a changed block, and {@code pull}
     * gives every byte back from store and image.
     */
    @Test
    void diskFramesAreListedVerifiedAgainstTheImageAndPulled() throws Exception {
        Path memory = realMemory("full.mem", false);
        Path image = dir.resolve("rootfs.img");
        try (FileChannel in = FileChannel.open(memory); FileChannel o = FileChannel.open(image, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            in.transferTo(1200 * 4096L, 848 * 4096L, o.position(256 * 4096L)); // pages 1200.. as blocks 256.. of the image
        }
        Path store = dir.resolve("store");
        Files.writeString(dir.resolve("ws.txt"), "0-99\n");
        CommandLineTest.Run push = sabre("store", "push", memory.toString(), store + "/fn", "--ws", dir.resolve("ws.txt").toString(),
                "--disk", image.toString());
        assertEquals(0, push.exit(), push.err());
        assertTrue(push.out().contains("848 pages") && push.out().contains("as disk frames"), push.out());

        CommandLineTest.Run ls = sabre("store", "ls", store.toString());
        assertTrue(ls.out().contains("ON DISK") && ls.out().contains("3.3 MiB"), ls.out());
        CommandLineTest.Run unchecked = sabre("store", "verify", store + "/fn");
        assertEquals(0, unchecked.exit(), unchecked.err());
        assertTrue(unchecked.out().contains("848 pages in disk images not checked"), unchecked.out());
        CommandLineTest.Run checked = sabre("store", "verify", store + "/fn", "--disk", image.toString());
        assertEquals(0, checked.exit(), checked.err());
        assertTrue(checked.out().contains("848 pages checked in " + image), checked.out());
        CommandLineTest.Run whole = sabre("store", "verify", store.toString(), "--disk", image.toString());
        assertTrue(whole.exit() != 0 && whole.err().lines().count() == 1 && whole.err().contains("STORE/NAME"), whole.err());

        Path out = dir.resolve("pulled.mem");
        assertEquals(0, sabre("store", "pull", store + "/fn", out.toString(), "--disk", image.toString()).exit());
        assertEquals(-1, mismatch(memory, out));

        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) { // the image changed since the push
            f.seek(300 * 4096L + 7);
            int b = f.read();
            f.seek(300 * 4096L + 7);
            f.write(b ^ 1);
        }
        CommandLineTest.Run changed = sabre("store", "verify", store + "/fn", "--disk", image.toString());
        assertEquals(Errors.CORRUPT, changed.exit(), changed.out() + changed.err());
        assertTrue(changed.out().contains("damaged: fn: " + image) && changed.out().contains("not the disk image it was pushed with"),
                changed.out());
    }

    private static long mismatch(Path a, Path b) throws Exception {
        return Arrays.mismatch(Files.readAllBytes(a), Files.readAllBytes(b));
    }
}
