package dev.sabre.format;

/**
 * Where one frame's bytes are and how to decode them. A frame holds {@code pageCount} pages in slot
 * order; {@code compressed} false means the raw fallback (stored bytes are the pages themselves).
 */
public record FrameInfo(long offset, int storedLength, int pageCount, int crc32c, boolean compressed) {
}
