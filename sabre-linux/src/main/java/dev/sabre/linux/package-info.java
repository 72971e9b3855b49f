/**
 * Linux system calls for the JVM on the final FFM API ({@code java.lang.foreign}), x86_64: userfaultfd,
 * mmap and friends, Unix sockets that pass descriptors, poll and eventfd, O_DIRECT and sparse files.
 * Nothing here knows about snapshots or VMs.
 *
 * <p>Failures throw {@link dev.sabre.linux.LinuxException}, a checked exception that carries errno and names
 * the call. Descriptors are plain {@code int}s; classes that own one ({@link dev.sabre.linux.Userfaultfd},
 * {@link dev.sabre.linux.UnixSocket}, {@link dev.sabre.linux.EventFd}) close it once. All FFM details (method
 * handles, struct layouts) are package-private, so callers see only ordinary Java types.
 *
 * <p>Needs {@code --enable-native-access=ALL-UNNAMED} (or the module's name) to run without warnings.
 * Memory registered with a userfaultfd must only be touched through native calls: see
 * {@link dev.sabre.linux.Memory}.
 */
package dev.sabre.linux;
