package dev.sabre.store;

import dev.sabre.restore.MemoryInstaller;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * One restore in its own process, for {@link HostCacheTest}: serves every page of {@code STORE/NAME}
 * through the host cache in {@code CACHE_DIR} once told to start (a line on stdin), then prints the bytes
 * it fetched from the store.
 */
public final class CacheClient {
    public static void main(String[] args) throws Exception {
        HostCache cache = HostCache.open(Path.of(args[1]), 1L << 30);
        try (StorePages pages = StoreSnapshots.open(args[0], null, cache); Arena arena = Arena.ofConfined()) {
            MemoryInstaller installer = new MemoryInstaller(arena.allocate(pages.memorySize()));
            System.out.println("ready");
            System.out.flush();
            System.in.read();
            for (long p = 0; p < pages.manifest().pageCount(); p++) {
                pages.serve(p, installer);
            }
            System.out.println("fetched " + pages.bytesRead());
        }
    }
}
