package dev.sabre.store;

/**
 * Lists a store configured by the environment alone, the way {@code sabre store ls STORE} opens it without
 * {@code --endpoint}: started as a separate process by {@link S3StoreTest} with only AWS_* variables set.
 */
public final class EnvConfiguredStore {
    public static void main(String[] args) throws Exception {
        try (SnapshotStore store = SnapshotStore.open(args[0], null)) {
            store.names().forEach(System.out::println);
        }
    }
}
