/**
 * The restore engine: reads a .sabre snapshot (O_DIRECT for cold storage, the page cache for warm),
 * checks and decompresses its frames on several threads and installs the pages through an
 * {@link dev.sabre.restore.Installer}: UFFDIO_COPY / UFFDIO_ZEROPAGE into userfaultfd-registered guest
 * memory, or plain copies into memory. Also serves single pages on demand ({@link dev.sabre.restore.PageSource})
 * for page-fault handlers. Nothing here knows about VMMs or handshakes.
 */
package dev.sabre.restore;
