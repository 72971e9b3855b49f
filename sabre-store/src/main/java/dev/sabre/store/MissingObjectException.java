package dev.sabre.store;

/** The object asked for does not exist in the store. */
public final class MissingObjectException extends StoreException {
    public MissingObjectException(String object) {
        super(object + ": no such object");
    }
}
