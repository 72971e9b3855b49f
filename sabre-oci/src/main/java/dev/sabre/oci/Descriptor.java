package dev.sabre.oci;

/**
 * An OCI content descriptor: what a manifest or index says about a blob it points to. The platform
 * fields are set only for the entries of an index.
 */
public record Descriptor(String mediaType, Digest digest, long size, String os, String architecture,
                         String variant) {
    public boolean isLinuxAmd64() {
        return "linux".equals(os) && "amd64".equals(architecture);
    }
}
