package io.tally.rules.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.model.TallyHeaders;
import io.tally.rules.persistence.RuleStore;
import io.tally.rules.persistence.TenantUsage;

/** {@code GET /api/v1/usage}: what the tenant's rules cost per event, against its quotas (API.md, "Quotas"). */
@Controller("/api/v1/usage")
@ExecuteOn(TaskExecutors.BLOCKING)
public class UsageController {

    /** The answer: the tenant's rules, windows and state cells one event costs, and the tenant's quotas. */
    @Serdeable
    public record Usage(int rules, long windowsPerEvent, long cellsPerEvent, long worstCaseStateMiB, Quotas quotas) {
    }

    @Serdeable
    public record Quotas(int rules, int groupsPerWindow, int windowsPerEvent, int stateMiB, int backfillHours) {
    }

    private final RuleStore store;

    public UsageController(RuleStore store) {
        this.store = store;
    }

    @Get(produces = MediaType.APPLICATION_JSON)
    public Usage usage(@Header(TallyHeaders.TENANT) @Nullable String tenant) {
        TenantUsage usage = store.usage(Requests.tenant(tenant));
        return new Usage(usage.rules(), usage.windowsPerEvent(), usage.cellsPerEvent(), usage.worstCaseStateMib(),
            new Quotas(usage.quotas().rules(), usage.quotas().groupsPerWindow(), usage.quotas().windowsPerEvent(), usage.quotas().stateMib(),
                usage.quotas().backfillHours()));
    }
}
