package io.tally.rules.persistence;

import java.util.List;

/** One page of a listing and the token for the next one (null at the end). */
public record Page(List<Stored> items, String nextPageToken) {
}
