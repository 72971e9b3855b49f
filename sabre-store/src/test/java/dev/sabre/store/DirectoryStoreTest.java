package dev.sabre.store;

import java.nio.file.Path;

/** The store's behaviour on a local directory. */
class DirectoryStoreTest extends StoreTestCase {
    @Override
    SnapshotStore newStore(String prefix) throws Exception {
        return SnapshotStore.open(temp.resolve("stores").resolve(prefix).toString(), null);
    }

    @Override
    Path objectFile(String prefix, String key) {
        return temp.resolve("stores").resolve(prefix).resolve(key);
    }
}
