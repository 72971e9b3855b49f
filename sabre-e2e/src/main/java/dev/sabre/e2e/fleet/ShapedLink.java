package dev.sabre.e2e.fleet;

import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network link of a set bandwidth between this host and a network namespace of its own: a veth pair, one
 * end in the namespace, with a {@code tc} token-bucket filter ({@code tbf}) of the same rate on both ends, so
 * every byte a server in the namespace sends or receives crosses a link of that rate ({@code netem} is not in
 * this kernel: bandwidth only, no added delay). Names and the /30 subnet are unique per link; {@link #close}
 * removes the namespace and both ends, and a shutdown hook does so if the JVM exits first (Ctrl-C).
 * Needs root and the {@code ip} and {@code tc} commands (Debian package iproute2).
 */
public final class ShapedLink implements AutoCloseable {
    private static final String[] SEARCH_PATH = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};

    private final String namespace;
    private final String hostEnd;
    private final String namespaceEnd;
    private final String hostAddress;
    private final String namespaceAddress;
    private final String ip;
    private final String tc;
    private final Thread reaper;
    private long rateBitsPerSecond;
    private boolean closed;

    /** @param subnet the /30's first address as its four octets */
    private ShapedLink(String name, int[] subnet, String ip, String tc) {
        this.namespace = name;
        this.hostEnd = name + "h";
        this.namespaceEnd = name + "n";
        this.hostAddress = address(subnet, 1);
        this.namespaceAddress = address(subnet, 2);
        this.ip = ip;
        this.tc = tc;
        this.reaper = new Thread(this::removeQuietly, "sabre-link-reaper");
    }

    /** Creates the namespace, the veth pair and the shapers at {@code rateBitsPerSecond}. */
    public static ShapedLink create(long rateBitsPerSecond) {
        String ip = command("ip");
        String tc = command("tc");
        String name = "sbr" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()); // 11 of 15 characters
        ShapedLink link = new ShapedLink(name, freeSubnet(ip), ip, tc);
        Runtime.getRuntime().addShutdownHook(link.reaper);
        try {
            link.run(ip, "netns", "add", link.namespace);
            link.run(ip, "link", "add", link.hostEnd, "type", "veth", "peer", "name", link.namespaceEnd);
            link.run(ip, "link", "set", link.namespaceEnd, "netns", link.namespace);
            link.run(ip, "addr", "add", link.hostAddress + "/30", "dev", link.hostEnd);
            link.run(ip, "link", "set", link.hostEnd, "up");
            link.inNamespace(ip, "addr", "add", link.namespaceAddress + "/30", "dev", link.namespaceEnd);
            link.inNamespace(ip, "link", "set", link.namespaceEnd, "up");
            link.inNamespace(ip, "link", "set", "lo", "up");
            link.shape("add", rateBitsPerSecond);
            return link;
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    /** Changes the rate of both ends. */
    public void setRate(long rateBitsPerSecond) {
        shape("change", rateBitsPerSecond);
    }

    private void shape(String verb, long rate) {
        if (rate < 1_000_000 || rate > 100_000_000_000L) {
            throw new VmmException("link rate " + rate + " bit/s: expected 1 Mbit/s .. 100 Gbit/s");
        }
        // The bucket holds 1 ms of traffic, at least 64 KiB so a GSO segment fits: what fills a full bucket leaves at
        // the veth's own speed, so a larger one makes the link faster than its rate at the start of every transfer
        // (with 10 ms, a 3.2 MB range arrived in 18.5 ms at 1 Gbit/s instead of the 26 ms the rate allows; with
        // 1 ms, 30 ms). Packets queue up to 100 ms, which bounds the queue, not the delay of the first bytes.
        String burst = Long.toString(Math.max(64 << 10, rate / 8 / 1000));
        List<String> args = List.of("qdisc", verb, "dev", "DEV", "root", "tbf", "rate", rate + "bit", "burst", burst,
                "latency", "100ms");
        run(withDevice(tc, args, hostEnd));
        inNamespace(withDevice(tc, args, namespaceEnd));
        this.rateBitsPerSecond = rate;
    }

    private static String[] withDevice(String tc, List<String> args, String device) {
        List<String> cmd = new ArrayList<>();
        cmd.add(tc);
        args.forEach(a -> cmd.add(a.equals("DEV") ? device : a));
        return cmd.toArray(String[]::new);
    }

    public long rateBitsPerSecond() {
        return rateBitsPerSecond;
    }

    /** The namespace servers behind the link run in ({@code ip netns exec NAME ...}). */
    public String namespace() {
        return namespace;
    }

    /** The namespace end's address: where a server in the namespace listens. */
    public String namespaceAddress() {
        return namespaceAddress;
    }

    public String hostAddress() {
        return hostAddress;
    }

    /** The command prefix that runs a program inside the namespace. */
    public List<String> exec() {
        return List.of(ip, "netns", "exec", namespace);
    }

    /** Bytes the host has received over the link so far (what restores fetched, with packet headers). */
    public long receivedBytes() {
        return counter("rx_bytes");
    }

    /** Bytes the host has sent over the link so far (requests, uploads). */
    public long sentBytes() {
        return counter("tx_bytes");
    }

    private long counter(String name) {
        Path file = Path.of("/sys/class/net", hostEnd, "statistics", name);
        try {
            return Long.parseLong(Files.readString(file).strip());
        } catch (IOException | NumberFormatException e) {
            throw new VmmException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "link %s (%s <-> %s, %s)", namespace, hostAddress, namespaceAddress,
                Rates.format(rateBitsPerSecond));
    }

    /** Removes the namespace and both veth ends; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        removeQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException e) {
            // the JVM is exiting: the hook runs anyway
        }
    }

    private void removeQuietly() {
        // Deleting the namespace deletes its veth end, and with it the peer; the host end is deleted
        // explicitly too in case the namespace step failed half-way.
        tryRun(ip, "netns", "del", namespace);
        if (Files.exists(Path.of("/sys/class/net", hostEnd))) {
            tryRun(ip, "link", "del", hostEnd);
        }
    }

    private void inNamespace(String... args) {
        List<String> cmd = new ArrayList<>(exec());
        cmd.addAll(List.of(args));
        run(cmd.toArray(String[]::new));
    }

    private void run(String... cmd) {
        String failure = execute(cmd);
        if (failure != null) {
            throw new VmmException("shaped link: '" + String.join(" ", cmd) + "' failed: " + failure
                    + (failure.contains("Operation not permitted") ? " (network namespaces need root)" : ""));
        }
    }

    private static void tryRun(String... cmd) {
        execute(cmd);
    }

    /** Runs {@code cmd}; null when it succeeded, else its first line of output or exit status. */
    private static String execute(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "did not finish within 30 s";
            }
            return p.exitValue() == 0 ? null : out.isEmpty() ? "exit status " + p.exitValue() : out.lines().findFirst().orElse("");
        } catch (IOException e) {
            return e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** The absolute path of {@code name}, or a one-line error naming the package that has it. */
    static String command(String name) {
        for (String dir : SEARCH_PATH) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new VmmException("a shaped link needs the '" + name + "' command (Debian package iproute2), which is not installed");
    }

    private static String address(int[] subnet, int host) {
        return subnet[0] + "." + subnet[1] + "." + subnet[2] + "." + (subnet[3] + host);
    }

    /** A random /30 in 10.213.0.0/16 that no interface of the host uses yet. */
    private static int[] freeSubnet(String ip) {
        String used;
        try {
            Process p = new ProcessBuilder(ip, "-4", "-o", "addr", "show").redirectErrorStream(true).start();
            used = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new VmmException("cannot list the host's addresses (" + ip + " addr): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmmException("interrupted while choosing a subnet for the shaped link");
        }
        for (int attempt = 0; attempt < 100; attempt++) {
            int n = ThreadLocalRandom.current().nextInt(1 << 14);
            int[] subnet = {10, 213, n >> 6, (n & 63) << 2};
            boolean taken = false;
            for (int host = 0; host < 4; host++) {
                taken |= used.contains(" " + address(subnet, host) + "/");
            }
            if (!taken) {
                return subnet;
            }
        }
        throw new VmmException("no free /30 subnet in 10.213.0.0/16 for the shaped link");
    }
}
