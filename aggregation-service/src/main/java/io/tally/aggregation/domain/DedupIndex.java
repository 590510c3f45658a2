package io.tally.aggregation.domain;

/** Answers whether an event id of a tenant was already seen on a partition (earlier batches). */
@FunctionalInterface
public interface DedupIndex {

    boolean seen(int partition, String tenant, long bucket, String id);

    DedupIndex NONE = (partition, tenant, bucket, id) -> false;
}
