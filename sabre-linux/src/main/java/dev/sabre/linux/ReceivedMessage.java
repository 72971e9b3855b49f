package dev.sabre.linux;

/**
 * What one recvmsg(2) on a Unix stream socket returned: the bytes and the descriptors passed with them
 * (SCM_RIGHTS), already installed in this process, close-on-exec, and owned by the receiver.
 *
 * <p>An empty payload means the peer closed its end: on a stream socket descriptors only travel with data.
 */
public record ReceivedMessage(byte[] payload, int[] fds) {

    /** The peer closed the connection (or shut down its writing side). */
    public boolean isEndOfStream() {
        return payload.length == 0;
    }

    /** Closes every received descriptor, for a receiver that does not want them. */
    public void closeFds() {
        for (int fd : fds) {
            Fds.closeQuietly(fd);
        }
    }
}
