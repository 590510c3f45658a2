package io.tally.fold;

import java.util.Collection;
import java.util.List;

/** The ids of one tenant's events in a batch of one partition, and the dedup generations to look them up in. */
public record IdLookup(int partition, String tenant, Collection<DedupHorizon.Generation> generations, List<String> ids) {
}
