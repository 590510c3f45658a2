-- Where the relay published each outbox row, and the position of a rule's current version on
-- tally.rules: a version is active once every live aggregation instance has read past it.
ALTER TABLE outbox ADD COLUMN kafka_partition INTEGER, ADD COLUMN kafka_offset BIGINT;
ALTER TABLE rules ADD COLUMN published_partition INTEGER, ADD COLUMN published_offset BIGINT;

-- Listing pages in creation order per tenant.
CREATE INDEX rules_by_tenant_created ON rules (tenant, created_at, id);
CREATE INDEX dashboards_by_tenant_created ON dashboards (tenant, created_at, id);
