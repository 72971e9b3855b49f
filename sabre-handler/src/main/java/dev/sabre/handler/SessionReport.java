package dev.sabre.handler;

import dev.sabre.restore.RestoreMetrics;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What one VMM session did: why it ended, its faults and their service latency, the bytes it read and
 * installed, the prefetch or eager restore's breakdown (null if none ran) and the working set it wrote.
 */
public record SessionReport(int id, int pid, Strategy strategy, String outcome, long faults, double p50Us,
                            double p99Us, double maxUs, long removeEvents, long bytesRead, long bytesInstalled,
                            RestoreMetrics restore, Path workingSet) {

    public String toLine() {
        return String.format(Locale.ROOT,
                "vmm %d (pid %d, %s): %s; %d faults, service p50 %.1f us, p99 %.1f us, max %.1f us; %d remove events; "
                        + "%.1f MiB read, %.1f MiB installed%s%s",
                id, pid, strategy, outcome, faults, p50Us, p99Us, maxUs, removeEvents, bytesRead / 1048576.0,
                bytesInstalled / 1048576.0, restore == null ? "" : "; restore: " + restore.toLine(),
                workingSet == null ? "" : "; working set written to " + workingSet);
    }

    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"vmm\":%d,\"pid\":%d,\"strategy\":\"%s\",\"outcome\":\"%s\",\"faults\":%d,\"fault_p50_us\":%.1f,"
                        + "\"fault_p99_us\":%.1f,\"fault_max_us\":%.1f,\"remove_events\":%d,\"bytes_read\":%d,"
                        + "\"bytes_installed\":%d,\"restore\":%s,\"working_set\":%s}",
                id, pid, strategy, escape(outcome), faults, p50Us, p99Us, maxUs, removeEvents, bytesRead, bytesInstalled,
                restore == null ? "null" : restore.toJson(),
                workingSet == null ? "null" : "\"" + escape(workingSet.toString()) + "\"");
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
