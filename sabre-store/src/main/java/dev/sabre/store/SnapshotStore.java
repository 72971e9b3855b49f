package dev.sabre.store;

import dev.sabre.codec.Codec;
import dev.sabre.codec.CodecException;
import dev.sabre.codec.CodecId;
import dev.sabre.codec.Codecs;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot store (STORE.md) on a local directory or an S3-compatible bucket: names that point at
 * manifests, and the immutable, content-addressed packs, indexes and manifests they refer to. Every
 * object is checked against its hash before any of its bytes is used. Thread-safe.
 */
public final class SnapshotStore implements AutoCloseable {
    private final ObjectStore objects;
    private final ThreadLocal<Map<CodecId, Codec>> decoders = ThreadLocal.withInitial(() -> new EnumMap<>(CodecId.class));

    public SnapshotStore(ObjectStore objects) {
        this.objects = objects;
    }

    /** A store location and a snapshot name in it, from {@code STORE/NAME}. */
    public record Ref(String store, String name) {
        public static Ref parse(String text) {
            int slash = text.lastIndexOf('/');
            String store = slash < 0 ? "" : text.substring(0, slash);
            if (slash < 0 || store.equals("s3:/")) {
                throw new IllegalArgumentException("'" + text + "' is not STORE/NAME (a directory or s3://bucket/prefix, then a snapshot name)");
            }
            return new Ref(store.isEmpty() ? "/" : store, StoreLayout.checkName(text.substring(slash + 1)));
        }

        @Override
        public String toString() {
            return store + "/" + name;
        }
    }

    /** Opens {@code location}: {@code s3://bucket[/prefix]} or a directory; {@code endpoint} (may be null) overrides the S3 endpoint. */
    public static SnapshotStore open(String location, URI endpoint) throws StoreException {
        if (location.startsWith("s3://")) {
            return new SnapshotStore(S3ObjectStore.open(location, endpoint));
        }
        if (location.contains("://")) {
            throw new IllegalArgumentException("'" + location + "' is neither a directory nor s3://bucket/prefix");
        }
        return new SnapshotStore(new DirectoryObjectStore(Path.of(location)));
    }

    public ObjectStore objects() {
        return objects;
    }

    public String location() {
        return objects.location();
    }

    /** Names of the snapshots in the store, sorted. */
    public List<String> names() throws IOException {
        List<String> names = new ArrayList<>();
        for (ObjectStore.Info info : objects.list(StoreLayout.NAMES)) {
            String name = info.key().substring(StoreLayout.NAMES.length());
            if (!name.contains("/")) {
                names.add(name);
            }
        }
        return names;
    }

    /** The hash of the manifest {@code name} points at. */
    public String manifestHash(String name) throws IOException {
        String key = StoreLayout.name(name);
        byte[] data;
        try {
            data = objects.get(key);
        } catch (MissingObjectException e) {
            throw new MissingObjectException(objects.describe(key) + " (no snapshot '" + name + "')");
        }
        String hash = new String(data, StandardCharsets.US_ASCII).strip();
        if (!StoreLayout.isHash(hash)) {
            throw new CorruptObjectException(objects.describe(key), "does not hold a manifest hash (64 lower-case hex digits)");
        }
        return hash;
    }

    /** Points {@code name} at manifest {@code hash}: the last step of a push. */
    void writeName(String name, String hash) throws IOException {
        objects.put(StoreLayout.name(name), (hash + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** Removes the name; the objects it used stay until {@code gc}. */
    public void remove(String name) throws IOException {
        manifestHash(name); // fails, naming it, when there is no such snapshot
        objects.delete(StoreLayout.name(name));
    }

    public Manifest manifest(String name) throws IOException {
        return manifestByHash(manifestHash(name));
    }

    public Manifest manifestByHash(String hash) throws IOException {
        String key = StoreLayout.manifest(hash);
        return Manifest.fromObject(objects.describe(key), verified(key, hash));
    }

    public PackIndex index(String hash) throws IOException {
        String key = StoreLayout.index(hash);
        return PackIndex.decode(objects.describe(key), verified(key, hash));
    }

    /** All of object {@code key}, checked against {@code hash} before it is returned. */
    byte[] verified(String key, String hash) throws IOException {
        byte[] data = objects.get(key);
        Hashes.check(objects.describe(key), data, 0, data.length, Hashes.parse(hash));
        return data;
    }

    /** An immutable object as stored: its hash, and whether this call wrote it (false: it was already there). */
    record Stored(String hash, boolean written) {
    }

    /** Stores {@code data} under {@code kindPrefix + sha256(data)} unless it is already there. */
    Stored putObject(String kindPrefix, byte[] data) throws IOException {
        String hash = Hashes.hex(Hashes.sha256(data));
        String key = kindPrefix + hash;
        ObjectStore.Info existing = objects.head(key);
        if (existing != null && existing.size() == data.length) {
            return new Stored(hash, false);
        }
        objects.put(key, data);
        return new Stored(hash, true);
    }

    /** The key of the pack holding frame {@code frame} of {@code m}. */
    String packKey(Manifest m, int frame) {
        if (m.frames().get(frame).onDisk()) {
            throw new IllegalArgumentException("frame " + frame + " is on the snapshot's disk, not in the store");
        }
        return StoreLayout.pack(m.packs().get(m.frames().get(frame).pack()).pack());
    }

    /** Frame {@code frame}'s stored bytes, fetched with one ranged request and checked against their hash. */
    public byte[] fetchFrame(Manifest m, int frame) throws IOException {
        StoredFrame f = m.frames().get(frame).stored();
        String key = packKey(m, frame);
        byte[] stored = objects.getRange(key, f.offset(), f.storedLength());
        checkFrame(m, frame, stored, 0);
        return stored;
    }

    /** Bytes per ranged request when consecutive frames are fetched together (E2B fetches 4 MiB units). */
    public static final int RANGE_BYTES = 4 << 20;

    /**
     * Cuts {@code frames} (ascending manifest frame numbers) into runs that one ranged request can fetch:
     * consecutive frames of one pack lying back to back, at most {@link #RANGE_BYTES} together (a larger
     * frame alone). Each run is {first, end}: frames first .. end - 1. Disk frames are left out: they are not
     * in the store.
     */
    public static List<int[]> ranges(Manifest m, java.util.Collection<Integer> frames) {
        List<int[]> ranges = new ArrayList<>();
        int first = -1, last = -1;
        long bytes = 0;
        for (int f : frames) {
            Manifest.Frame frame = m.frames().get(f);
            if (frame.onDisk()) {
                continue; // the run cannot go on past it: the next frame is not last + 1
            }
            boolean joins = first >= 0 && f == last + 1 && frame.pack() == m.frames().get(last).pack()
                    && frame.stored().offset() == m.frames().get(last).stored().end()
                    && bytes + frame.stored().storedLength() <= RANGE_BYTES;
            if (!joins) {
                if (first >= 0) {
                    ranges.add(new int[] {first, last + 1});
                }
                first = f;
                bytes = 0;
            }
            last = f;
            bytes += frame.stored().storedLength();
        }
        if (first >= 0) {
            ranges.add(new int[] {first, last + 1});
        }
        return ranges;
    }

    /**
     * Frames {@code first .. end - 1} (one range from {@link #ranges}) with one ranged request, each frame
     * checked against its hash before the bytes are returned; frame f starts at
     * {@code offset(f) - offset(first)}.
     */
    public byte[] fetchFrames(Manifest m, int first, int end) throws IOException {
        StoredFrame a = m.frames().get(first).stored();
        StoredFrame z = m.frames().get(end - 1).stored();
        byte[] data = objects.getRange(packKey(m, first), a.offset(), Math.toIntExact(z.end() - a.offset()));
        long start = System.nanoTime();
        for (int f = first; f < end; f++) {
            checkFrame(m, f, data, (int) (m.frames().get(f).stored().offset() - a.offset()));
        }
        if (StoreTrace.on()) {
            StoreTrace.event("frames %d..%d (%d bytes) hash-checked in %.2f ms", first, end - 1, data.length, StoreTrace.ms(start));
        }
        return data;
    }

    /** Requests a {@link #streamFrames} transfer may make: one, and a new one from where it broke off, a few times. */
    static final int STREAM_ATTEMPTS = 4;

    /** Takes each frame of a streamed range as soon as it has arrived and matched its hash. */
    @FunctionalInterface
    public interface FrameSink {
        void accept(int frame, byte[] stored);
    }

    /**
     * Frames {@code first .. end - 1} (one range from {@link #ranges}) with one ranged request, read as they
     * arrive: each frame is checked against its hash and handed to {@code sink} as soon as its last byte is in,
     * so whoever waits for it can decode and install it while the rest of the range is still on the wire. A
     * transfer cut off part way is resumed with a new request from the first frame not yet handed over, up to
     * {@link #STREAM_ATTEMPTS} requests in all. Returns the requests made.
     */
    public int streamFrames(Manifest m, int first, int end, FrameSink sink) throws IOException {
        int next = first;
        for (int attempt = 1; ; attempt++) {
            StoredFrame a = m.frames().get(next).stored();
            String key = packKey(m, next);
            long start = System.nanoTime();
            try (InputStream in = objects.openRange(key, a.offset(), m.frames().get(end - 1).stored().end() - a.offset())) {
                for (; next < end; next++) {
                    StoredFrame f = m.frames().get(next).stored();
                    byte[] stored = in.readNBytes(f.storedLength());
                    if (stored.length != f.storedLength()) {
                        throw new CorruptObjectException(objects.describe(key), "ended at byte %d, inside the frame at %d..%d (truncated?)"
                                .formatted(f.offset() + stored.length, f.offset(), f.end()));
                    }
                    checkFrame(m, next, stored, 0);
                    sink.accept(next, stored);
                }
                if (StoreTrace.on()) {
                    StoreTrace.event("frames %d..%d streamed and checked in %.2f ms", first, end - 1, StoreTrace.ms(start));
                }
                return attempt;
            } catch (StoreException e) {
                throw e;
            } catch (IOException e) {
                if (attempt >= STREAM_ATTEMPTS) {
                    throw new StoreException(objects.describe(key) + ": cannot read: " + e.getMessage() + " (the transfer broke off "
                            + attempt + " times)", e);
                }
            }
        }
    }

    /** Checks frame {@code frame}'s stored bytes at {@code offset} of {@code data} against the hash in the manifest. */
    void checkFrame(Manifest m, int frame, byte[] data, int offset) throws CorruptObjectException {
        StoredFrame f = m.frames().get(frame).stored();
        Hashes.check(objects.describe(packKey(m, frame)) + " (bytes " + f.offset() + ".." + f.end() + ")", data, offset,
                f.storedLength(), f.sha256());
    }

    /** Decodes checked stored bytes of frame {@code frame} into {@code raw} (exactly its page count x page size). */
    public void decodeFrame(Manifest m, int frame, MemorySegment stored, MemorySegment raw) throws CorruptObjectException {
        StoredFrame f = m.frames().get(frame).stored();
        if (!f.compressed()) {
            MemorySegment.copy(stored, 0, raw, 0, raw.byteSize());
            return;
        }
        try {
            decoders.get().computeIfAbsent(m.codec(), Codecs::decoder).decompress(stored, raw);
        } catch (CodecException e) {
            throw new CorruptObjectException(objects.describe(packKey(m, frame)) + " (bytes " + f.offset() + ".." + f.end() + ")",
                    "does not decode: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        objects.close();
    }
}
