package io.tally.rules.persistence;

import io.micronaut.serde.ObjectMapper;
import io.tally.model.TimeSource;
import io.tally.rules.domain.DashboardDefinition;
import jakarta.inject.Singleton;

import java.util.Optional;

/** Dashboards (saved queries) in PostgreSQL, versioned like rules; nothing downstream consumes them. */
@Singleton
public class DashboardStore extends DefinitionStore<DashboardDefinition> {

    public DashboardStore(Database db, ObjectMapper json, TimeSource time) {
        super("dashboards", db, json, DashboardDefinition.class, time);
    }

    public Stored create(String tenant, DashboardDefinition definition) {
        return db.write(status -> table.insert(status.getConnection(), tenant, write(definition), now()));
    }

    public Optional<Stored> replace(String tenant, String id, DashboardDefinition definition, Integer ifMatch) {
        return change(tenant, id, ifMatch, (c, current) -> table.replace(c, current, write(definition), now()));
    }

    public boolean delete(String tenant, String id, Integer ifMatch) {
        return change(tenant, id, ifMatch, (c, current) -> {
            table.delete(c, current);
            return true;
        }).isPresent();
    }
}
