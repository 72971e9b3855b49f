/**
 * End-to-end orchestration and experiments on real function VMs: snapshot a function once, record its
 * working set, then restore it with every strategy (their stable names: sabre-e2e/README.md and
 * docs/handler.md, "Strategies"; the page-fault handler running as its own process, as in production) and measure what vHive's run_end2end and run_reap_end2end measure:
 * VM restore latency, cold start (first invocation) and total, plus snapshot and working-set sizes on disk.
 * Driver-neutral: everything takes a {@link dev.sabre.vmm.VmmDriver}.
 */
package dev.sabre.e2e;
