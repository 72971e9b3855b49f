package dev.sabre.firecracker;

/**
 * Firecracker's two snapshot types ({@code snapshot_type} of {@code PUT /snapshot/create}). A Full
 * memory file holds every guest page; a Diff memory file has the full size but holds only the pages
 * dirtied since the previous snapshot (or since boot or load), the rest are holes.
 */
public enum SnapshotKind {
    FULL("Full"),
    DIFF("Diff");

    private final String apiName;

    SnapshotKind(String apiName) {
        this.apiName = apiName;
    }

    /** The value of {@code snapshot_type} in the API. */
    public String apiName() {
        return apiName;
    }
}
