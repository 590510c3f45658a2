package io.tally.fold;

/** Answers at which offset an event id of a tenant was first seen on a partition (earlier batches). */
@FunctionalInterface
public interface DedupIndex {

    /** The offset the id was first seen at on this partition within the tenant's horizon, or -1 when it was not. */
    long firstSeenAt(int partition, String tenant, String id);

    DedupIndex NONE = (partition, tenant, id) -> -1;
}
