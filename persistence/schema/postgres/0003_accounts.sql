-- Accounts (issue 16): every journal, snapshot and alert row names the account it belongs to,
-- and two accounts may hold the same symbol. Rows written before this migration were one
-- account's, the legacy `exchange:` section's, which the config now calls 'main'.
-- All in the one transaction migrate.py wraps around this file. The DEFAULT only labels the
-- existing rows and is dropped at once: a writer that forgets the account fails instead of
-- writing 'main'.
ALTER TABLE journal ADD COLUMN account TEXT NOT NULL DEFAULT 'main';
ALTER TABLE journal ALTER COLUMN account DROP DEFAULT;
ALTER TABLE journal DROP CONSTRAINT journal_pkey;
ALTER TABLE journal ADD PRIMARY KEY (account, symbol, seq);

ALTER TABLE snapshots ADD COLUMN account TEXT NOT NULL DEFAULT 'main';
ALTER TABLE snapshots ALTER COLUMN account DROP DEFAULT;
ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey;
ALTER TABLE snapshots ADD PRIMARY KEY (account, symbol);
DROP INDEX snapshots_live;
CREATE INDEX snapshots_live ON snapshots (account, symbol) WHERE live;

-- NULL = an instance-wide alert (started, lock lost, ...), as `symbol` is NULL for those.
ALTER TABLE alerts ADD COLUMN account TEXT;
UPDATE alerts SET account = 'main';
