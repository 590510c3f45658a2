package io.tally.query.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.tally.results.ResultWindow;

import java.util.List;
import java.util.Map;

/** The JSON shapes of the results API (see API.md, "Results"). */
public final class Responses {

    private Responses() {
    }

    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Results(String ruleId, int ruleVersion, @Nullable String watermark, long lateEvents, List<ResultWindow> windows) {
    }

    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Top(@Nullable WindowRef window, List<TopEntry> entries) {
    }

    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record WindowRef(String start, String end) {
    }

    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record TopEntry(Map<String, Object> group, @Nullable Object value) {
    }
}
