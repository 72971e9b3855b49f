package dev.sabre.oci;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Parses image manifests and indexes (OCI image spec v1, Docker Registry schema 2) after their digest was
 * checked, and refuses every media type it does not know, naming it.
 */
public final class Manifests {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";

    /** Layer media types: plain, gzip or zstd tar, distributable or not. The compression is sniffed anyway. */
    public static final Set<String> LAYER_TYPES = Set.of(
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
            "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");

    /** Manifests and configs are small; registries refuse manifests above 4 MiB. */
    public static final int MAX_MANIFEST_BYTES = 4 << 20;

    private Manifests() {
    }

    /** What a manifest digest points to: an index of per-platform manifests, or one image. */
    public sealed interface Parsed permits Index, Manifest {
    }

    public record Index(List<Descriptor> manifests) implements Parsed {
        /** The linux/amd64 entry (without a variant, or the first of several). */
        public Descriptor linuxAmd64(String image, Digest index) {
            return manifests.stream().filter(Descriptor::isLinuxAmd64).findFirst().orElseThrow(() ->
                    new OciException("image " + image + ": index " + index.shortForm() + " has no linux/amd64 image ("
                            + String.join(", ", manifests.stream()
                                    .map(d -> d.os() + "/" + d.architecture()).distinct().toList()) + ")"));
        }
    }

    public record Manifest(Descriptor config, List<Descriptor> layers) implements Parsed {
    }

    /** Parses the bytes of a manifest or index whose digest is {@code digest}. */
    public static Parsed parse(byte[] bytes, Digest digest, String image) {
        String where = "image " + image + ": manifest " + digest.shortForm();
        JsonObject json = object(bytes, where);
        String mediaType = string(json, "mediaType", where, false);
        if (mediaType == null) {
            // The OCI spec lets mediaType be absent; the shape then says which it is.
            mediaType = json.has("manifests") ? OCI_INDEX : OCI_MANIFEST;
        }
        JsonElement version = json.get("schemaVersion");
        if (version == null || !version.isJsonPrimitive() || version.getAsInt() != 2) {
            throw new OciException(where + ": schemaVersion is " + version + ", not 2");
        }
        return switch (mediaType) {
            case OCI_INDEX, DOCKER_LIST -> {
                List<Descriptor> manifests = new ArrayList<>();
                for (JsonElement e : array(json, "manifests", where)) {
                    manifests.add(descriptor(e, where + ": manifests[" + manifests.size() + "]"));
                }
                yield new Index(manifests);
            }
            case OCI_MANIFEST, DOCKER_MANIFEST -> {
                Descriptor config = descriptor(json.get("config"), where + ": config");
                if (!config.mediaType().equals(OCI_CONFIG) && !config.mediaType().equals(DOCKER_CONFIG)) {
                    throw new OciException(where + ": config has unknown media type " + config.mediaType());
                }
                List<Descriptor> layers = new ArrayList<>();
                for (JsonElement e : array(json, "layers", where)) {
                    String at = where + ": layers[" + layers.size() + "]";
                    Descriptor layer = descriptor(e, at);
                    if (!LAYER_TYPES.contains(layer.mediaType())) {
                        throw new OciException(at + " has unknown media type " + layer.mediaType());
                    }
                    layers.add(layer);
                }
                yield new Manifest(config, layers);
            }
            default -> throw new OciException(where + ": unknown manifest media type " + mediaType);
        };
    }

    static Descriptor descriptor(JsonElement element, String where) {
        if (element == null || !element.isJsonObject()) {
            throw new OciException(where + ": missing or not an object");
        }
        JsonObject json = element.getAsJsonObject();
        String mediaType = string(json, "mediaType", where, true);
        Digest digest = Digest.parse(string(json, "digest", where, true), where + ": digest");
        JsonElement size = json.get("size");
        long n;
        try {
            n = size == null ? -1 : size.getAsLong();
        } catch (RuntimeException e) {
            n = -1;
        }
        if (n < 0) {
            throw new OciException(where + ": size is missing or negative");
        }
        String os = null;
        String architecture = null;
        String variant = null;
        if (json.get("platform") instanceof JsonObject platform) {
            os = string(platform, "os", where + ": platform", false);
            architecture = string(platform, "architecture", where + ": platform", false);
            variant = string(platform, "variant", where + ": platform", false);
        }
        return new Descriptor(mediaType, digest, n, os, architecture, variant);
    }

    static JsonObject object(byte[] bytes, String where) {
        try {
            JsonElement json = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
            if (!json.isJsonObject()) {
                throw new OciException(where + ": not a JSON object");
            }
            return json.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new OciException(where + ": not valid JSON (" + oneLine(e.getMessage()) + ")");
        }
    }

    static String string(JsonObject json, String field, String where, boolean required) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            if (required) {
                throw new OciException(where + ": " + field + " is missing");
            }
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new OciException(where + ": " + field + " is not a string");
        }
        return e.getAsString();
    }

    static JsonArray array(JsonObject json, String field, String where) {
        JsonElement e = json.get(field);
        if (e == null || !e.isJsonArray()) {
            throw new OciException(where + ": " + field + " is missing or not an array");
        }
        return e.getAsJsonArray();
    }

    static String oneLine(String text) {
        return text == null ? "" : text.replaceAll("\\s+", " ").strip();
    }
}
