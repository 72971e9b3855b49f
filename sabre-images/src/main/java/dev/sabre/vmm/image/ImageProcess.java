package dev.sabre.vmm.image;

import dev.sabre.oci.ImageConfig;
import dev.sabre.oci.ImageRoot;
import dev.sabre.oci.OciException;
import dev.sabre.vmm.VmmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The process a container image runs, resolved at build time the way Docker (runc) starts it: the command line
 * is Entrypoint followed by Cmd (a Dockerfile's shell form is already {@code /bin/sh -c ...} in the config);
 * the environment is exactly the image's Env, plus a default PATH and the user's HOME when the image sets
 * none; the working directory is WorkingDir, else {@code /}; the user is {@code uid}, {@code name},
 * {@code uid:gid}, {@code name:group} (names looked up in the image's {@code /etc/passwd} and
 * {@code /etc/group}), root when empty. Without an explicit group the user's primary group from
 * {@code /etc/passwd} is used (0 when the uid is not listed) and the groups that list the user are its
 * supplementary groups; with one, that group alone.
 *
 * @param argv    the command line, argv[0] looked up on the environment's PATH when it has no slash
 * @param env     {@code NAME=value} entries
 * @param workDir absolute working directory
 * @param uid     user id
 * @param gid     group id
 * @param groups  supplementary group ids
 */
public record ImageProcess(List<String> argv, List<String> env, String workDir, long uid, long gid, List<Long> groups) {
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final long MAX_ID = 0xfffffffeL;

    /** The process of {@code config}, its user resolved against the unpacked image {@code rootfs}. */
    public static ImageProcess of(ImageConfig config, Path rootfs, String image) {
        String where = "image " + image + ": config";
        List<String> argv = config.argv();
        if (argv.isEmpty() || argv.getFirst().isEmpty()) {
            throw new VmmException(where + ": Entrypoint and Cmd name no program to run");
        }
        List<String[]> passwd = table(rootfs, "/etc/passwd", image);
        List<String[]> group = table(rootfs, "/etc/group", image);
        String user = config.user().strip();
        String userPart = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
        String groupPart = user.contains(":") ? user.substring(user.indexOf(':') + 1) : null;
        long uid = 0;
        long gid = 0;
        String name = null;
        String home = "/";
        String[] entry = null;
        if (!userPart.isEmpty()) {
            entry = find(passwd, userPart, 2);
            if (entry == null && !isId(userPart)) {
                throw new VmmException(where + ": User '" + user + "': no user '" + userPart + "' in the image's /etc/passwd");
            }
        } else {
            entry = find(passwd, "0", 2);
        }
        if (entry != null) {
            name = entry[0];
            uid = id(entry[2], "image " + image + ": /etc/passwd entry of " + entry[0] + ": uid");
            gid = id(entry[3], "image " + image + ": /etc/passwd entry of " + entry[0] + ": gid");
            home = entry.length > 5 && !entry[5].isEmpty() ? entry[5] : "/";
        } else if (!userPart.isEmpty()) {
            uid = id(userPart, where + ": User '" + user + "'");
        }
        Set<Long> groups = new LinkedHashSet<>();
        if (groupPart != null) {
            String[] g = find(group, groupPart, 2);
            if (g == null && !isId(groupPart)) {
                throw new VmmException(where + ": User '" + user + "': no group '" + groupPart + "' in the image's /etc/group");
            }
            gid = g != null ? id(g[2], "image " + image + ": /etc/group entry of " + g[0] + ": gid")
                    : id(groupPart, where + ": User '" + user + "'");
        } else if (name != null) {
            for (String[] g : group) {
                if (g.length > 3 && List.of(g[3].split(",")).contains(name)) {
                    groups.add(id(g[2], "image " + image + ": /etc/group entry of " + g[0] + ": gid"));
                }
            }
        }
        List<String> env = new ArrayList<>(config.env());
        for (int i = 0; i < env.size(); i++) {
            if (!env.get(i).matches("(?s)[^=\\-][^=]*=.*")) {
                throw new VmmException(where + ": Env[" + i + "] '" + env.get(i) + "' is not NAME=value");
            }
        }
        if (env.stream().noneMatch(e -> e.startsWith("PATH="))) {
            env.add("PATH=" + DEFAULT_PATH);
        }
        if (env.stream().noneMatch(e -> e.startsWith("HOME="))) {
            env.add("HOME=" + home);
        }
        String workDir = config.workingDir().isEmpty() ? "/" : config.workingDir();
        if (!workDir.startsWith("/")) {
            workDir = "/" + workDir; // Docker resolves a relative WorkingDir against /
        }
        return new ImageProcess(List.copyOf(argv), List.copyOf(env), workDir, uid, gid, List.copyOf(groups));
    }

    /**
     * The guest's start script: {@code busybox env -i} with exactly this environment runs {@code exec} (the
     * static helper that sets groups, group and user, enters the working directory and executes the program).
     */
    public String script(String busybox, String exec) {
        StringBuilder s = new StringBuilder("# The image's process, started by /sabre/init (written by sabre at build time).\n");
        s.append("exec ").append(busybox).append(" env -i");
        env.forEach(e -> s.append(" \\\n    ").append(quote(e)));
        s.append(" \\\n    ").append(exec).append(' ').append(uid).append(' ').append(gid).append(' ')
                .append(quote(String.join(",", groups.stream().map(String::valueOf).toList()))).append(' ')
                .append(quote(workDir)).append(" \\\n   ");
        argv.forEach(a -> s.append(' ').append(quote(a)));
        return s.append('\n').toString();
    }

    /** One shell word: single quotes, a single quote inside written as '\''. */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /** A colon-separated table of the image (passwd, group) read inside the root; empty when it has none. */
    private static List<String[]> table(Path rootfs, String guestPath, String image) {
        String at = "image " + image + ": " + guestPath;
        try {
            Path file = ImageRoot.file(rootfs, guestPath, at);
            if (file == null || !Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return List.of();
            }
            if (Files.size(file) > (16 << 20)) {
                throw new VmmException(at + " is larger than 16 MiB");
            }
            List<String[]> rows = new ArrayList<>();
            for (String line : new String(Files.readAllBytes(file), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    rows.add(line.split(":", -1));
                }
            }
            return rows;
        } catch (OciException e) {
            throw new VmmException(e.getMessage(), e);
        } catch (IOException e) {
            throw new VmmException(at + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The first row whose name (column 0) is {@code key}, else, when {@code key} is numeric, whose column {@code idColumn} is. */
    private static String[] find(List<String[]> rows, String key, int idColumn) {
        for (String[] row : rows) {
            if (row.length > idColumn && row[0].equals(key)) {
                return row;
            }
        }
        if (isId(key)) {
            for (String[] row : rows) {
                if (row.length > idColumn && row[idColumn].equals(key)) {
                    return row;
                }
            }
        }
        return null;
    }

    private static boolean isId(String text) {
        return text.matches("[0-9]{1,10}") && Long.parseLong(text) <= MAX_ID;
    }

    private static long id(String text, String what) {
        if (!isId(text)) {
            throw new VmmException(what + " '" + text + "' is not a number from 0 to " + MAX_ID);
        }
        return Long.parseLong(text);
    }
}
