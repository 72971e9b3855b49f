package dev.sabre.codec;

/**
 * A provider of codec implementations, found with {@link java.util.ServiceLoader}.
 *
 * <p>This is the extension point for hardware: an Intel IAA backend (through QPL) registers itself in
 * {@code META-INF/services/dev.sabre.codec.CodecBackend} with a higher {@link #priority} than the native
 * libraries, answers {@link #supports} for DEFLATE when the accelerator is present, and every caller of
 * {@link Codecs#create} picks it up without a change.
 */
public interface CodecBackend {
    /** Short name used by {@code --codec-backend} and in reports, e.g. "native" or "java". */
    String name();

    /** Higher wins when several backends support the same codec and level. */
    int priority();

    /** Null when usable, else the reason it is not (e.g. "native libraries disabled by property ..."). */
    String unavailableReason();

    boolean supports(CodecId id, int level);

    Codec create(CodecId id, int level);
}
