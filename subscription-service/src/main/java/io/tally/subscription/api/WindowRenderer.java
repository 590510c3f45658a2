package io.tally.subscription.api;

import io.micronaut.core.type.Argument;
import io.micronaut.serde.ObjectMapper;
import io.tally.results.RawWindow;
import io.tally.results.ResultAssembler;
import io.tally.results.ResultWindow;
import io.tally.results.StateReader;
import io.tally.rule.RuleSpec;
import io.tally.subscription.domain.Subscription;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Stored windows as the contract shows them (as in results), for snapshots and updates alike. */
@Singleton
public class WindowRenderer {

    private final ObjectMapper json;
    private final ResultAssembler assembler;

    public WindowRenderer(ObjectMapper json) {
        this.json = json;
        this.assembler = new ResultAssembler(text -> parse(text, Argument.listOf(Object.class)), text -> parse(text, Argument.OBJECT_ARGUMENT));
    }

    /** The windows of a read that have groups matching {@code filter}, in the read's order. */
    public List<Subscription.Rendered> render(RuleSpec rule, StateReader.Snapshot read, Map<String, String> filter) {
        List<Subscription.Rendered> windows = new ArrayList<>(read.windows().size());
        for (RawWindow raw : read.windows()) {
            ResultWindow window = ResultWindow.of(assembler, rule, raw, filter, read.closedUpTo());
            if (window != null) {
                try {
                    windows.add(new Subscription.Rendered(raw.start(), json.writeValueAsString(window)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return windows;
    }

    private <T> T parse(String text, Argument<T> type) {
        try {
            return json.readValue(text, type);
        } catch (IOException e) {
            throw new IllegalStateException("unreadable stored value", e);
        }
    }
}
