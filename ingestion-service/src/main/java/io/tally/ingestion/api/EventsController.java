package io.tally.ingestion.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.tally.ingestion.domain.EventReader;
import io.tally.ingestion.domain.ParsedEvents;
import io.tally.ingestion.messaging.EventLogUnavailableException;
import io.tally.ingestion.messaging.KafkaEventLog;
import io.tally.model.TallyHeaders;
import io.tally.model.Tenants;
import io.tally.model.TimeSource;
import io.tally.problem.FieldError;
import io.tally.problem.ProblemException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;


/** {@code POST /api/v1/events}: validate all, write all durably, then 202. */
@Controller("/api/v1/events")
public class EventsController {

    static final String NDJSON = "application/x-ndjson";
    private static final Logger LOG = LoggerFactory.getLogger(EventsController.class);

    private final EventReader reader;
    private final KafkaEventLog log;
    private final MeterRegistry meters;

    public EventsController(KafkaEventLog log, MeterRegistry meters, TimeSource time) {
        this.reader = new EventReader(time.clock());
        this.log = log;
        this.meters = meters;
    }

    @Post(consumes = {MediaType.APPLICATION_JSON, NDJSON}, produces = MediaType.APPLICATION_JSON)
    @ExecuteOn(TaskExecutors.BLOCKING)
    public HttpResponse<AcceptedResponse> ingest(@Header(TallyHeaders.TENANT) @Nullable String tenant,
                                                 @Header("Content-Type") String contentType,
                                                 @Body byte[] body) {
        if (!Tenants.isValid(tenant)) {
            throw ProblemException.unauthorized("No tenant: events reach Tally through the API gateway with a bearer token.");
        }
        ParsedEvents parsed = contentType.toLowerCase(Locale.ROOT).startsWith(NDJSON)
            ? reader.readNdjson(tenant, body)
            : reader.readJson(tenant, body);
        if (!parsed.valid()) {
            meters.counter("tally.ingest.requests", "result", "invalid").increment();
            throw ProblemException.invalid(parsed.violations().size() == 1
                    ? "The request has a problem; nothing was ingested."
                    : "The request has " + parsed.violations().size() + " problems; nothing was ingested.",
                parsed.violations().stream().map(v -> new FieldError(v.pointer(), v.message())).toList());
        }
        try {
            log.append(parsed.events());
        } catch (EventLogUnavailableException e) {
            meters.counter("tally.ingest.requests", "result", "unavailable").increment();
            LOG.warn("tenant {}: {} events not accepted: {}", tenant, parsed.events().size(), e.getMessage());
            String why = e.breakerOpen()
                ? "Writes to the event log are paused after repeated broker failures"
                : "The event log did not acknowledge the events";
            throw ProblemException.unavailable(why + "; retry the same request after Retry-After seconds (duplicates are counted once).",
                e.retryAfterSeconds());
        }
        meters.counter("tally.ingest.requests", "result", "accepted").increment();
        meters.counter("tally.ingest.events").increment(parsed.events().size());
        return HttpResponse.<AcceptedResponse>status(HttpStatus.ACCEPTED).body(new AcceptedResponse(parsed.events().size()));
    }
}
