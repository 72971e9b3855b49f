package dev.sabre.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;

/**
 * A flat namespace of keys to byte objects: a local directory or an S3-compatible bucket under a
 * prefix. The store layout (STORE.md) is written once on top of this; the backends only move bytes.
 * Thread-safe. Every error names the object as {@link #describe(String)} prints it.
 */
public interface ObjectStore extends AutoCloseable {

    /** An object as listed: its key (relative to the store), size in bytes and last-modified time by the store's clock. */
    record Info(String key, long size, Instant lastModified) {
    }

    /** Where this store lives, e.g. {@code /srv/snapshots} or {@code s3://bucket/prefix}; never credentials. */
    String location();

    /** The full name of {@code key} for messages: location plus key. */
    default String describe(String key) {
        String location = location();
        return location.endsWith("/") ? location + key : location + "/" + key;
    }

    /** Stores {@code data} under {@code key}; readers see the old object, or all of the new one, never part of it. */
    void put(String key, byte[] data) throws IOException;

    /** All of object {@code key}; {@link MissingObjectException} when there is none. */
    byte[] get(String key) throws IOException;

    /**
     * Bytes {@code offset .. offset + length} of object {@code key} in one request. An object shorter than
     * that is an error naming it ("truncated?").
     */
    byte[] getRange(String key, long offset, int length) throws IOException;

    /**
     * Bytes {@code offset .. offset + length} of object {@code key} in one request, as a stream to read while they
     * arrive (so a reader can use the first bytes before the last have come). Failures to open name the object as
     * {@link #getRange} does; the stream may end early (a truncated object: the reader checks the length).
     * Backends where a read is local may return the whole range at once.
     */
    default InputStream openRange(String key, long offset, long length) throws IOException {
        return new ByteArrayInputStream(getRange(key, offset, Math.toIntExact(length)));
    }

    /** The object's size and time, or null when it does not exist. */
    Info head(String key) throws IOException;

    /** Every object whose key starts with {@code prefix}, in key order. */
    List<Info> list(String prefix) throws IOException;

    /** Deletes {@code key}; deleting a missing object is not an error. */
    void delete(String key) throws IOException;

    @Override
    void close();
}
