package io.tally.ingestion.api;

import io.micronaut.serde.annotation.Serdeable;

/** The 202 body: how many events of the request were durably accepted. */
@Serdeable
public record AcceptedResponse(int accepted) {
}
