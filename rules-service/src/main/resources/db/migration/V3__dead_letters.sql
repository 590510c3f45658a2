-- Events the aggregation engine quarantined for a rule (read from tally.dead-letters). One row per rule and
-- source event: a batch quarantined twice (a crash between publishing and moving the fence) counts once.
CREATE TABLE dead_letters (
    tenant            TEXT        NOT NULL,
    rule_id           TEXT        NOT NULL,
    source_partition  INTEGER     NOT NULL,
    source_offset     BIGINT      NOT NULL,
    rule_version      INTEGER     NOT NULL,
    reason            TEXT        NOT NULL,
    quarantined_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, rule_id, source_partition, source_offset)
);

CREATE INDEX dead_letters_latest ON dead_letters (tenant, rule_id, quarantined_at DESC);
