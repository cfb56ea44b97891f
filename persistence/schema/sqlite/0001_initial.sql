-- Journal + snapshots + the single instance row (fencing epoch and lock holder).
-- Times are integer milliseconds since the Unix epoch; the unit is in the column name.
CREATE TABLE journal (
    symbol          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    payload         BLOB    NOT NULL,   -- persistence.codec (versioned msgpack)
    correlation_id  TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,   -- event time (injectable clock)
    recorded_at_ms  INTEGER NOT NULL,   -- commit time (SQLite's own clock)
    PRIMARY KEY (symbol, seq)
) WITHOUT ROWID;

CREATE TABLE snapshots (
    symbol          TEXT    PRIMARY KEY,
    seq             INTEGER NOT NULL,
    state           BLOB    NOT NULL,   -- persistence.codec (versioned msgpack)
    live            INTEGER NOT NULL CHECK (live IN (0, 1)),
    updated_at_ms   INTEGER NOT NULL
);

CREATE INDEX snapshots_live ON snapshots (symbol) WHERE live = 1;

-- Exactly one row: the epoch only ever grows; holder columns name who bumped it last.
CREATE TABLE instance (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    epoch           INTEGER NOT NULL,
    host            TEXT    NOT NULL,
    pid             INTEGER NOT NULL,
    started_at_ms   INTEGER NOT NULL
);

INSERT INTO instance (id, epoch, host, pid, started_at_ms) VALUES (1, 0, '', 0, 0);
