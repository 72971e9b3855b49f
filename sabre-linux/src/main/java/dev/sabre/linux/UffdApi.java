package dev.sabre.linux;

/**
 * The answer to {@code UFFDIO_API}. The kernel enables exactly the requested features (or refuses all of
 * them with EINVAL) but reports every feature it could have enabled, so both sets are kept apart here.
 *
 * @param requestedFeatures the features asked for, now enabled on the descriptor
 * @param availableFeatures every feature this kernel supports ({@code Userfaultfd.UFFD_FEATURE_*})
 * @param ioctls            ioctls allowed on the descriptor itself ({@code Userfaultfd.IOCTL_*} bits)
 */
public record UffdApi(long requestedFeatures, long availableFeatures, long ioctls) {

    /** True if all bits of {@code feature} were requested, hence enabled. */
    public boolean enabled(long feature) {
        return (requestedFeatures & feature) == feature;
    }

    /** True if this kernel supports all bits of {@code feature}. */
    public boolean available(long feature) {
        return (availableFeatures & feature) == feature;
    }
}
