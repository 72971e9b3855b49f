package dev.sabre.store;

import java.util.regex.Pattern;

/**
 * Where each kind of object lives in a store (STORE.md, "Keys"). Immutable objects are named by the
 * SHA-256 of their bytes; names and locks are the only keys that are not.
 */
public final class StoreLayout {
    public static final String PACKS = "packs/";
    public static final String INDEXES = "indexes/";
    public static final String MANIFESTS = "manifests/";
    public static final String NAMES = "names/";
    public static final String LOCKS = "locks/";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

    private StoreLayout() {
    }

    /** Throws IllegalArgumentException unless {@code name} is a snapshot name: letters, digits, '.', '_', '-', not starting with a dot. */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a snapshot name (1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
        }
        return name;
    }

    /** Refuses keys that could leave the store's directory or prefix ({@code ..}, absolute, empty parts). */
    static void checkKey(String key) {
        if (!KEY.matcher(key).matches() || key.contains("..")) {
            throw new IllegalArgumentException("'" + key + "' is not a store key");
        }
    }

    public static boolean isHash(String text) {
        return HASH.matcher(text).matches();
    }

    public static String pack(String hash) {
        return PACKS + checkHash(hash);
    }

    public static String index(String hash) {
        return INDEXES + checkHash(hash);
    }

    public static String manifest(String hash) {
        return MANIFESTS + checkHash(hash);
    }

    public static String name(String name) {
        return NAMES + checkName(name);
    }

    /** The hash part of an immutable object's key, or null when the key is not one (a stray file). */
    static String hashOf(String key, String kindPrefix) {
        if (!key.startsWith(kindPrefix)) {
            return null;
        }
        String hash = key.substring(kindPrefix.length());
        return isHash(hash) ? hash : null;
    }

    private static String checkHash(String hash) {
        if (!isHash(hash)) {
            throw new IllegalArgumentException("'" + hash + "' is not a SHA-256 in lower-case hex");
        }
        return hash;
    }
}
