package dev.sabre.store;

/**
 * An object whose bytes do not hash to its name, or whose fields break a rule of STORE.md. Nothing
 * from it has been used when this is thrown.
 */
public final class CorruptObjectException extends StoreException {
    public CorruptObjectException(String object, String what) {
        super(object + ": " + what);
    }
}
