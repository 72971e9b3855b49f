package dev.sabre.store;

import dev.sabre.format.Progress;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Whole-store work: usage ({@code du}), garbage collection ({@code gc}) and integrity checks ({@code verify}). */
public final class StoreMaintenance {
    private StoreMaintenance() {
    }

    /** One snapshot's share: its memory, the frames it uses (what it would take alone) and those no other snapshot uses. */
    public record SnapshotUsage(String name, long memoryBytes, long aloneBytes, long uniqueBytes) {
    }

    /**
     * {@code storedBytes}: every object in the store; {@code aloneBytes}: what the snapshots would take
     * each in a store of its own (its frames and manifest); {@code sharedBytes}: frames used by more than
     * one snapshot, counted once.
     */
    public record Usage(long storedBytes, long aloneBytes, long sharedBytes, long memoryBytes, List<SnapshotUsage> snapshots) {
    }

    public static Usage usage(SnapshotStore store) throws IOException {
        ObjectStore objects = store.objects();
        long stored = 0;
        for (String kind : List.of(StoreLayout.PACKS, StoreLayout.INDEXES, StoreLayout.MANIFESTS, StoreLayout.NAMES)) {
            for (ObjectStore.Info info : objects.list(kind)) {
                stored += info.size();
            }
        }
        Map<String, Integer> users = new HashMap<>();
        Map<String, Long> frameBytes = new HashMap<>();
        Map<String, List<String>> framesOf = new HashMap<>();
        Map<String, long[]> sizes = new HashMap<>();
        for (String name : store.names()) {
            String hash = store.manifestHash(name);
            Manifest m = store.manifestByHash(hash);
            List<String> keys = new ArrayList<>();
            for (Manifest.Frame f : m.frames()) {
                if (f.onDisk()) {
                    continue; // in the VM's disk image, not in the store
                }
                String key = m.packs().get(f.pack()).pack() + "@" + f.stored().offset();
                keys.add(key);
                users.merge(key, 1, Integer::sum);
                frameBytes.put(key, (long) f.stored().storedLength());
            }
            framesOf.put(name, keys);
            ObjectStore.Info manifest = objects.head(StoreLayout.manifest(hash));
            sizes.put(name, new long[] {m.memorySize(), manifest == null ? 0 : manifest.size()});
        }
        long alone = 0;
        long shared = 0;
        long memory = 0;
        List<SnapshotUsage> snapshots = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : framesOf.entrySet()) {
            long own = sizes.get(e.getKey())[1];
            long unique = own;
            for (String key : e.getValue()) {
                own += frameBytes.get(key);
                if (users.get(key) == 1) {
                    unique += frameBytes.get(key);
                }
            }
            alone += own;
            memory += sizes.get(e.getKey())[0];
            snapshots.add(new SnapshotUsage(e.getKey(), sizes.get(e.getKey())[0], own, unique));
        }
        for (Map.Entry<String, Integer> e : users.entrySet()) {
            if (e.getValue() > 1) {
                shared += frameBytes.get(e.getKey());
            }
        }
        snapshots.sort(java.util.Comparator.comparing(SnapshotUsage::name));
        return new Usage(stored, alone, shared, memory, snapshots);
    }

    public record GcResult(int live, int deleted, long deletedBytes, int keptYoung, int staleLocks) {
    }

    /**
     * Deletes packs, indexes and manifests no name reaches, under the gc lock (so no push runs meanwhile),
     * sparing objects younger than {@code grace} by the store's clock. A name whose manifest cannot be read
     * stops the gc before anything is deleted: what it references is unknown.
     */
    public static GcResult gc(SnapshotStore store, Duration grace, Duration lockWait, Progress progress) throws IOException {
        ObjectStore objects = store.objects();
        try (StoreLocks.Lock lock = StoreLocks.gc(objects, lockWait)) {
            Set<String> live = new HashSet<>();
            for (String name : store.names()) {
                String hash = store.manifestHash(name);
                Manifest m = store.manifestByHash(hash);
                live.add(StoreLayout.manifest(hash));
                for (Manifest.PackRef p : m.packs()) {
                    live.add(StoreLayout.pack(p.pack()));
                    live.add(StoreLayout.index(p.index()));
                }
            }
            Instant now = lock.time();
            List<ObjectStore.Info> candidates = new ArrayList<>();
            for (String kind : List.of(StoreLayout.MANIFESTS, StoreLayout.INDEXES, StoreLayout.PACKS)) {
                candidates.addAll(objects.list(kind));
            }
            int deleted = 0, young = 0;
            long bytes = 0;
            long done = 0;
            long total = candidates.stream().mapToLong(ObjectStore.Info::size).sum();
            for (ObjectStore.Info info : candidates) {
                progress.update("gc", done += info.size(), total);
                if (live.contains(info.key())) {
                    continue;
                }
                if (Duration.between(info.lastModified(), now).compareTo(grace) < 0) {
                    young++;
                    continue;
                }
                objects.delete(info.key());
                deleted++;
                bytes += info.size();
            }
            int stale = 0;
            for (ObjectStore.Info marker : objects.list(StoreLayout.LOCKS)) {
                if (StoreLocks.isStale(marker, now)) {
                    objects.delete(marker.key());
                    stale++;
                }
            }
            return new GcResult(live.size(), deleted, bytes, young, stale);
        }
    }

    /**
     * What a verify read: snapshots and store objects checked, bytes read from the store, pages read from the disk
     * image and checked against their hashes, and pages of disk frames left unchecked for want of an image.
     */
    public record VerifyResult(int snapshots, int objects, long bytes, long diskPagesChecked, long diskPagesUnchecked,
                               List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /**
     * Checks {@code name} (or, when null, the whole store: every object against its hash and rules, every
     * name's manifest and frames): every byte read, hashed and, for frames, decoded. Disk frames live in each
     * VM's disk image, not in the store, and are counted as unchecked.
     */
    public static VerifyResult verify(SnapshotStore store, String name, Progress progress) throws IOException {
        return verify(store, name, null, progress);
    }

    /**
     * As {@link #verify(SnapshotStore, String, Progress)}; with {@code disk} (the image snapshot {@code name} was
     * pushed with, which then may not be null) its disk frames are read from that image and checked against their
     * hashes too.
     */
    public static VerifyResult verify(SnapshotStore store, String name, SnapshotDisk disk, Progress progress) throws IOException {
        if (disk != null && name == null) {
            throw new IllegalArgumentException("a disk image belongs to one snapshot: name it");
        }
        List<String> problems = new ArrayList<>();
        int objectCount = 0;
        long bytes = 0, diskChecked = 0, diskUnchecked = 0;
        List<String> names = name != null ? List.of(name) : store.names();
        if (name == null) {
            ObjectStore objects = store.objects();
            Map<String, List<ObjectStore.Info>> listed = new java.util.LinkedHashMap<>();
            long total = 0;
            for (String kind : List.of(StoreLayout.MANIFESTS, StoreLayout.INDEXES, StoreLayout.PACKS)) {
                listed.put(kind, objects.list(kind));
                total += listed.get(kind).stream().mapToLong(ObjectStore.Info::size).sum();
            }
            for (String kind : listed.keySet()) {
                for (ObjectStore.Info info : listed.get(kind)) {
                    String hash = StoreLayout.hashOf(info.key(), kind);
                    if (hash == null) {
                        problems.add(objects.describe(info.key()) + ": not a store object name");
                        continue;
                    }
                    try {
                        switch (kind) {
                            case StoreLayout.MANIFESTS -> store.manifestByHash(hash);
                            case StoreLayout.INDEXES -> {
                                PackIndex index = store.index(hash);
                                ObjectStore.Info pack = objects.head(StoreLayout.pack(index.pack()));
                                if (pack == null || pack.size() != index.packSize()) {
                                    problems.add(objects.describe(info.key()) + ": its pack " + index.pack() + " is "
                                            + (pack == null ? "missing" : pack.size() + " bytes, not " + index.packSize()));
                                }
                            }
                            default -> store.verified(info.key(), hash);
                        }
                        objectCount++;
                        bytes += info.size();
                    } catch (StoreException e) {
                        problems.add(e.getMessage());
                    }
                    progress.update("verify", bytes, total);
                }
            }
        }
        int snapshots = 0;
        for (String n : names) {
            try {
                Manifest m = store.manifest(n);
                MemorySegment raw = Arena.ofAuto().allocate(Puller.maxFrameBytes(m), 4096);
                long frameBytes = m.frameBytes();
                long checked = 0;
                if (disk != null) {
                    SnapshotDisk.checkGiven(disk, m, store.location() + "/" + n);
                }
                for (int f = 0; f < m.frames().size(); f++) {
                    if (m.frames().get(f).onDisk()) {
                        long pages = m.frames().get(f).stored().pageCount();
                        if (disk == null) {
                            diskUnchecked += pages; // every restore and pull that reads it checks it against the image
                            continue;
                        }
                        try {
                            disk.frame(m, f);
                            diskChecked += pages;
                        } catch (StoreException e) {
                            problems.add(n + ": " + e.getMessage());
                        }
                        continue;
                    }
                    byte[] stored = store.fetchFrame(m, f);
                    store.decodeFrame(m, f, MemorySegment.ofArray(stored), raw.asSlice(0, m.rawBytes(f)));
                    bytes += stored.length;
                    progress.update("verify " + n, checked += stored.length, frameBytes);
                }
                snapshots++;
            } catch (StoreException e) {
                problems.add(n + ": " + e.getMessage());
            }
        }
        return new VerifyResult(snapshots, objectCount, bytes, diskChecked, diskUnchecked, problems);
    }
}
