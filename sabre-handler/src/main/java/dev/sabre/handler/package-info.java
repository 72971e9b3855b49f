/**
 * The Firecracker-compatible userfaultfd page-fault handler: receives a VMM's guest-memory regions and
 * userfaultfd over a Unix socket (the handshake in docs/handler.md), then serves that VMM's memory
 * with one of the restore strategies ({@link dev.sabre.handler.Strategy}), records working
 * sets, and reports fault latencies and restore metrics. Any number of VMMs at once, one session each.
 */
package dev.sabre.handler;
