package dev.sabre.oci;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * An image reference as the user writes it, in one of four transports (skopeo's names):
 * <ul>
 *   <li>a registry: {@code host[:port]/repo[:tag]} or {@code host[:port]/repo@sha256:HEX}, optionally prefixed
 *       with {@code docker://}; the host is required (no image hub is assumed), the tag defaults to
 *       {@code latest};</li>
 *   <li>{@code oci:DIR[:TAG]}, an OCI image layout directory;</li>
 *   <li>{@code oci-archive:FILE[:TAG]}, a tar of such a layout;</li>
 *   <li>{@code docker-archive:FILE}, a tar as {@code docker save} writes it.</li>
 * </ul>
 *
 * @param text       the reference as given, for messages
 * @param transport  which of the four
 * @param host       registry host[:port] (registry only)
 * @param repository repository path (registry only)
 * @param tag        tag, or null when pulled by digest (registry only)
 * @param digest     manifest digest pinned by the reference, or null
 * @param path       the directory or archive (local transports only), absolute
 * @param localTag   the tag inside a layout or archive, or null
 */
public record ImageRef(String text, Transport transport, String host, String repository, String tag, Digest digest,
                       Path path, String localTag) {

    public enum Transport { REGISTRY, OCI, OCI_ARCHIVE, DOCKER_ARCHIVE }

    // The distribution spec's grammar for repository names and tags.
    private static final Pattern REPOSITORY =
            Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    private static final Pattern HOST = Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                    + "|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?");

    public static ImageRef parse(String text) {
        if (text == null || text.isBlank()) {
            throw new OciException("image reference is empty");
        }
        if (text.startsWith("oci:")) {
            return local(text, Transport.OCI, text.substring("oci:".length()));
        }
        if (text.startsWith("oci-archive:")) {
            return local(text, Transport.OCI_ARCHIVE, text.substring("oci-archive:".length()));
        }
        if (text.startsWith("docker-archive:")) {
            return local(text, Transport.DOCKER_ARCHIVE, text.substring("docker-archive:".length()));
        }
        return registry(text, text.startsWith("docker://") ? text.substring("docker://".length()) : text);
    }

    private static ImageRef local(String text, Transport transport, String rest) {
        // skopeo splits PATH:TAG at the first colon, so a path cannot hold one.
        int colon = rest.indexOf(':');
        String path = colon < 0 ? rest : rest.substring(0, colon);
        String tag = colon < 0 ? null : rest.substring(colon + 1);
        if (path.isEmpty()) {
            throw new OciException("image " + text + ": no path after the transport");
        }
        if (tag != null && transport != Transport.DOCKER_ARCHIVE && !TAG.matcher(tag).matches()) {
            throw new OciException("image " + text + ": not a valid tag: " + tag);
        }
        return new ImageRef(text, transport, null, null, null, null,
                Path.of(path).toAbsolutePath().normalize(), tag);
    }

    private static ImageRef registry(String text, String rest) {
        int slash = rest.indexOf('/');
        if (slash <= 0) {
            throw new OciException("image " + text + ": name the registry, as in host:port/repository:tag");
        }
        String host = rest.substring(0, slash);
        if (!HOST.matcher(host).matches()) {
            throw new OciException("image " + text + ": not a registry host: " + host);
        }
        String name = rest.substring(slash + 1);
        Digest digest = null;
        int at = name.indexOf('@');
        if (at >= 0) {
            digest = Digest.parse(name.substring(at + 1), "image " + text + ": digest");
            name = name.substring(0, at);
        }
        String tag = null;
        int colon = name.lastIndexOf(':');
        if (colon >= 0) {
            tag = name.substring(colon + 1);
            name = name.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw new OciException("image " + text + ": not a valid tag: " + tag);
            }
        }
        if (!REPOSITORY.matcher(name).matches()) {
            throw new OciException("image " + text + ": not a valid repository name: " + name);
        }
        if (tag == null && digest == null) {
            tag = "latest";
        }
        return new ImageRef(text, Transport.REGISTRY, host, name, tag, digest, null, null);
    }

    /** True for a registry on this machine (localhost, 127.0.0.0/8, ::1), where plain http is allowed. */
    public boolean loopbackRegistry() {
        if (transport != Transport.REGISTRY) {
            return false;
        }
        String name = host.startsWith("[") ? host.substring(1, host.indexOf(']')) : host.replaceFirst(":[0-9]+$", "");
        return name.equals("localhost") || name.equals("::1") || name.matches("127\\.[0-9]+\\.[0-9]+\\.[0-9]+");
    }

    /** The name skopeo understands. A registry reference pinned by digest drops its tag (skopeo refuses both). */
    public String skopeoName() {
        return switch (transport) {
            case REGISTRY -> "docker://" + host + "/" + repository + (digest != null ? "@" + digest : ":" + tag);
            case OCI -> "oci:" + path + (localTag != null ? ":" + localTag : "");
            case OCI_ARCHIVE -> "oci-archive:" + path + (localTag != null ? ":" + localTag : "");
            case DOCKER_ARCHIVE -> "docker-archive:" + path + (localTag != null ? ":" + localTag : "");
        };
    }

    /** The same registry repository, pinned to one manifest. */
    public String skopeoName(Digest manifest) {
        if (transport != Transport.REGISTRY) {
            throw new IllegalStateException("only a registry reference can be pinned: " + text);
        }
        return "docker://" + host + "/" + repository + "@" + manifest;
    }

    @Override
    public String toString() {
        return text;
    }
}
