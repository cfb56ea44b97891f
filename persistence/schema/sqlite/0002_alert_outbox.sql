-- The alert outbox (ops/alerts): an alert is written here before it is sent, so it survives a
-- crash; one delivery row per channel it must reach, marked once that channel took it.
-- Not fenced by the epoch: a stale instance's last alerts ("lock lost") must still go out.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,   -- quarantined, stop_failed, unprotected, ...
    severity        TEXT    NOT NULL,   -- critical | warning | info
    symbol          TEXT,
    text            TEXT    NOT NULL,   -- one line for a person
    payload         BLOB    NOT NULL,   -- persistence.codec (versioned msgpack)
    epoch           INTEGER NOT NULL,   -- the instance that raised it
    created_at_ms   INTEGER NOT NULL    -- when it was raised (engine clock)
);

CREATE TABLE alert_deliveries (
    alert_id        INTEGER NOT NULL REFERENCES alerts (id),
    channel         TEXT    NOT NULL,   -- webhook | telegram
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at_ms      INTEGER NOT NULL,   -- not sent again before this (retry backoff)
    last_error      TEXT,
    delivered_at_ms INTEGER,            -- NULL until the channel took it
    PRIMARY KEY (alert_id, channel)
) WITHOUT ROWID;

CREATE INDEX alert_deliveries_pending ON alert_deliveries (channel, alert_id)
    WHERE delivered_at_ms IS NULL;
