-- Accounts (issue 16): every journal, snapshot and alert row names the account it belongs to,
-- and two accounts may hold the same symbol. Rows written before this migration were one
-- account's, the legacy `exchange:` section's, which the config now calls 'main'.
-- SQLite cannot change a primary key in place: journal and snapshots are rebuilt (copy, drop,
-- rename), all inside the one transaction migrate.py wraps around this file. No DEFAULT on
-- the new columns: a writer that forgets the account fails instead of writing 'main'.
CREATE TABLE journal_accounts (
    account         TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    payload         BLOB    NOT NULL,   -- persistence.codec (versioned msgpack)
    correlation_id  TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,   -- event time (injectable clock)
    recorded_at_ms  INTEGER NOT NULL,   -- commit time (SQLite's own clock)
    PRIMARY KEY (account, symbol, seq)
) WITHOUT ROWID;

INSERT INTO journal_accounts (account, symbol, seq, epoch, kind, payload, correlation_id,
                              created_at_ms, recorded_at_ms)
    SELECT 'main', symbol, seq, epoch, kind, payload, correlation_id, created_at_ms,
           recorded_at_ms FROM journal;

DROP TABLE journal;
ALTER TABLE journal_accounts RENAME TO journal;

CREATE TABLE snapshots_accounts (
    account         TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    state           BLOB    NOT NULL,   -- persistence.codec (versioned msgpack)
    live            INTEGER NOT NULL CHECK (live IN (0, 1)),
    updated_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (account, symbol)
);

INSERT INTO snapshots_accounts (account, symbol, seq, state, live, updated_at_ms)
    SELECT 'main', symbol, seq, state, live, updated_at_ms FROM snapshots;

DROP TABLE snapshots;  -- drops its index snapshots_live too
ALTER TABLE snapshots_accounts RENAME TO snapshots;

CREATE INDEX snapshots_live ON snapshots (account, symbol) WHERE live = 1;

-- Alerts keep their ids (alert_deliveries refers to them): a column is added in place.
-- NULL = an instance-wide alert (started, lock lost, ...), as `symbol` is NULL for those.
ALTER TABLE alerts ADD COLUMN account TEXT;
UPDATE alerts SET account = 'main';
