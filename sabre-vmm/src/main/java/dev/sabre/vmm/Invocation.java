package dev.sabre.vmm;

/**
 * One function invocation: the reply's message and the time from sending the request (connection
 * included, as vHive measures) to receiving the reply.
 */
public record Invocation(String reply, long micros) {
}
