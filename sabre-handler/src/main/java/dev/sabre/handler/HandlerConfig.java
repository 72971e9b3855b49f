package dev.sabre.handler;

import dev.sabre.codec.CodecId;
import dev.sabre.restore.RestoreOptions;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a {@link PageFaultHandler} needs to know.
 *
 * @param socket           where VMMs connect (created with mode 0600)
 * @param memory           the guest memory: a raw memory file or a .sabre snapshot
 * @param strategy         how to serve it
 * @param workingSet       reap / reap-compressed: the working-set .sabre to prefetch; reap-record: where to
 *                         write it (VMM n > 1 writes {@code NAME.n.sabre}); else unused
 * @param wsCodec          codec of a recorded working set ({@link CodecId#NONE}: raw, as REAPRecord)
 * @param wsLevel          its compression level; 0 picks the working-set default ({@link dev.sabre.format.PackOptions#workingSet})
 * @param control          optional control socket for RECORD / STOP_RECORD / STATS; null for none
 * @param restore          threads, O_DIRECT and chunk size of prefetches and eager restores
 * @param verify           check every frame's checksum at start, before serving anything
 * @param killUnservable   SIGKILL a VMM (pid from SO_PEERCRED) that cannot be served instead of leaving it
 *                         hung; never applied to this process itself
 * @param handshakeTimeout how long a connected VMM may take to send its handshake
 * @param log              where one-line events go
 * @param store            a snapshot in a snapshot store ({@code STORE/NAME}, STORE a directory or
 *                         {@code s3://bucket/prefix}) served instead of {@code memory}; null for none
 * @param storeEndpoint    the S3 endpoint of {@code store} (null: the AWS SDK's own configuration)
 * @param storeCache       the host cache directory for {@code store}'s frames (null: the default,
 *                         {@code StoreSnapshots.defaultCache()}, shared by every handler on the host)
 * @param storeDisk        the VM's root file system image, from which {@code store}'s disk frames are read (null:
 *                         none; a snapshot that has disk frames then refuses to open)
 */
public record HandlerConfig(Path socket, Path memory, Strategy strategy, Path workingSet, CodecId wsCodec,
                            int wsLevel, Path control, RestoreOptions restore, boolean verify,
                            boolean killUnservable, Duration handshakeTimeout, PrintStream log, String store,
                            URI storeEndpoint, Path storeCache, Path storeDisk) {

    /** Defaults: no working set, no control socket, default restore options, kill unservable VMMs, log to stderr. */
    public static HandlerConfig of(Path socket, Path memory, Strategy strategy) {
        return new HandlerConfig(socket, memory, strategy, null, CodecId.NONE, 0, null, RestoreOptions.defaults(),
                false, true, Duration.ofSeconds(10), System.err, null, null, null, null);
    }

    public HandlerConfig withWorkingSet(Path workingSet) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    public HandlerConfig withWorkingSetCodec(CodecId codec, int level) {
        return new HandlerConfig(socket, memory, strategy, workingSet, codec, level, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    public HandlerConfig withControl(Path control) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    public HandlerConfig withRestore(RestoreOptions restore) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    public HandlerConfig withVerify(boolean verify) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    public HandlerConfig withKillUnservable(boolean kill) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                kill, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    public HandlerConfig withHandshakeTimeout(Duration timeout) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, timeout, log, store, storeEndpoint, storeCache, storeDisk);
    }

    /** Serves snapshot {@code reference} ({@code STORE/NAME}) of a snapshot store instead of a memory file. */
    public HandlerConfig withStore(String reference, URI endpoint) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, reference, endpoint, storeCache, storeDisk);
    }

    /** Keeps the store's frames in the host cache at {@code dir} instead of the default one. */
    public HandlerConfig withStoreCache(Path dir) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, dir, storeDisk);
    }

    /** Reads the store snapshot's disk frames from {@code image}, the VM's root file system image. */
    public HandlerConfig withStoreDisk(Path image) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, image);
    }

    public HandlerConfig withLog(PrintStream log) {
        return new HandlerConfig(socket, memory, strategy, workingSet, wsCodec, wsLevel, control, restore, verify,
                killUnservable, handshakeTimeout, log, store, storeEndpoint, storeCache, storeDisk);
    }
}
