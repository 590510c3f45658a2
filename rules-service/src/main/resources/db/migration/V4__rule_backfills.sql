-- Rule versions computed from the retained events before they serve ("backfill": "PT6H"): one row per such version,
-- running until the aggregation reports it done (the version then serves) or failed (the version before keeps serving).
-- previous is the record of the version that serves meanwhile (null for a new rule).
CREATE TABLE rule_backfills (
    tenant      TEXT        NOT NULL,
    id          UUID        NOT NULL,
    version     INTEGER     NOT NULL,
    span        TEXT        NOT NULL,
    from_at     TIMESTAMPTZ NOT NULL,
    state       TEXT        NOT NULL,
    reason      TEXT,
    previous    JSONB,
    created_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant, id, version)
);
