-- Journal + snapshots + the single instance row (fencing epoch and lock holder).
-- Times are integer milliseconds since the Unix epoch; the unit is in the column name.
CREATE TABLE journal (
    symbol          TEXT    NOT NULL,
    seq             BIGINT  NOT NULL CHECK (seq > 0),
    epoch           BIGINT  NOT NULL,
    kind            TEXT    NOT NULL,
    payload         BYTEA   NOT NULL,   -- persistence.codec (versioned msgpack)
    correlation_id  TEXT    NOT NULL,
    created_at_ms   BIGINT  NOT NULL,   -- event time (injectable clock)
    recorded_at_ms  BIGINT  NOT NULL,   -- commit time (clock_timestamp() of the server)
    PRIMARY KEY (symbol, seq)
);

CREATE TABLE snapshots (
    symbol          TEXT    PRIMARY KEY,
    seq             BIGINT  NOT NULL,
    state           BYTEA   NOT NULL,   -- persistence.codec (versioned msgpack)
    live            BOOLEAN NOT NULL,
    updated_at_ms   BIGINT  NOT NULL
);

CREATE INDEX snapshots_live ON snapshots (symbol) WHERE live;

-- Exactly one row: the epoch only ever grows; holder columns name who bumped it last.
-- Appends read it FOR SHARE, so an epoch bump waits for in-flight appends and every
-- append that starts after the bump sees the new epoch (fencing).
CREATE TABLE instance (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    epoch           BIGINT  NOT NULL,
    host            TEXT    NOT NULL,
    pid             INTEGER NOT NULL,
    started_at_ms   BIGINT  NOT NULL
);

INSERT INTO instance (id, epoch, host, pid, started_at_ms) VALUES (1, 0, '', 0, 0);
