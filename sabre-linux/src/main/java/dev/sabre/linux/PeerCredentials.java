package dev.sabre.linux;

/**
 * Who is at the other end of a Unix socket (SO_PEERCRED): the credentials of the process that connected,
 * as the kernel recorded them at connect time, so they cannot be forged by the peer. A page-fault handler
 * uses the pid to kill a VMM it can no longer serve.
 */
public record PeerCredentials(int pid, int uid, int gid) {}
