package io.tally.aggregation.domain;

/** Answers at which offset an event id of a tenant was first seen on a partition (earlier batches). */
@FunctionalInterface
public interface DedupIndex {

    /** The offset the id was first seen at on this partition, or -1 when it was never seen. */
    long firstSeenAt(int partition, String tenant, long bucket, String id);

    DedupIndex NONE = (partition, tenant, bucket, id) -> -1;
}
