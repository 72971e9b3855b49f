package dev.sabre.store;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A real object store that also counts the bytes and requests read from it, to check fetch-once behaviour. */
final class CountingObjectStore implements ObjectStore {
    private final ObjectStore store;
    final AtomicLong readBytes = new AtomicLong();
    final AtomicLong readRequests = new AtomicLong();

    CountingObjectStore(ObjectStore store) {
        this.store = store;
    }

    @Override
    public String location() {
        return store.location();
    }

    @Override
    public void put(String key, byte[] data) throws IOException {
        store.put(key, data);
    }

    @Override
    public byte[] get(String key) throws IOException {
        byte[] data = store.get(key);
        count(data.length);
        return data;
    }

    @Override
    public byte[] getRange(String key, long offset, int length) throws IOException {
        byte[] data = store.getRange(key, offset, length);
        count(data.length);
        return data;
    }

    private void count(long bytes) {
        readBytes.addAndGet(bytes);
        readRequests.incrementAndGet();
    }

    @Override
    public Info head(String key) throws IOException {
        return store.head(key);
    }

    @Override
    public List<Info> list(String prefix) throws IOException {
        return store.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
        store.delete(key);
    }

    @Override
    public void close() {
        store.close();
    }
}
