-- Rules and dashboards per tenant, and the transactional outbox their changes are relayed through.

CREATE TABLE rules (
    tenant      TEXT        NOT NULL,
    id          UUID        NOT NULL,
    version     INTEGER     NOT NULL,
    definition  JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE dashboards (
    tenant      TEXT        NOT NULL,
    id          UUID        NOT NULL,
    version     INTEGER     NOT NULL,
    definition  JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Written in the same transaction as the change; a relay publishes unpublished rows in id order.
CREATE TABLE outbox (
    seq             BIGSERIAL   PRIMARY KEY,
    id              UUID        NOT NULL UNIQUE,
    aggregate_type  TEXT        NOT NULL,
    aggregate_id    TEXT        NOT NULL,
    type            TEXT        NOT NULL,
    payload         JSONB,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at    TIMESTAMPTZ
);

CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
