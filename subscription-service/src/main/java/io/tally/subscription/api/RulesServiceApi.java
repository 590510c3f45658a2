package io.tally.subscription.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.client.annotation.Client;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.internal.InternalToken;
import io.tally.model.TallyHeaders;

import java.util.List;
import java.util.Map;

/**
 * The part of the rules service's API the subscription service reads: a saved dashboard. Declarative; its address
 * and timeouts are {@code micronaut.http.services.rules.*} ({@code TALLY_RULES_URL}).
 */
@Client(id = "rules")
public interface RulesServiceApi {

    /** A saved dashboard as the rules service returns it (only what a subscription needs). */
    @Serdeable
    record Dashboard(List<SavedQuery> queries) {
    }

    /** One query of a dashboard: a rule and its group filter (dimension → value). */
    @Serdeable
    record SavedQuery(String ruleId, @Nullable Map<String, Object> groups) {
    }

    /** The dashboard; 404 when the tenant has none by that id (answered, not thrown). */
    @Get("/api/v1/dashboards/{id}")
    HttpResponse<Dashboard> dashboard(@PathVariable String id, @Header(TallyHeaders.TENANT) String tenant,
                                      @Header(TallyHeaders.ROLES) String roles, @Header(InternalToken.HEADER) String signature);
}
