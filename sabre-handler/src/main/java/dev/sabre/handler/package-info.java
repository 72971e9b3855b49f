/**
 * The Firecracker-compatible userfaultfd page-fault handler: receives a VMM's guest-memory regions and
 * userfaultfd over a Unix socket (the handshake of DESIGN.md contract 3), then serves that VMM's memory
 * with one of the restore strategies of contract 4 ({@link dev.sabre.handler.Strategy}), records working
 * sets, and reports fault latencies and restore metrics. Any number of VMMs at once, one session each.
 */
package dev.sabre.handler;
