-- The change stream (GET /v1/watch, issue 17): one row per event a watcher hears, numbered in commit order
-- (writers are serialised: SQLite has one, PostgreSQL's hold an advisory lock), so "the events after N"
-- never misses one committed later with a smaller number. AUTOINCREMENT: an id is never reused, even after
-- pruning emptied the table, so a watcher's position stays meaningful.
--   changed    a report (or a redecode) changed what a query reads of the host now: its current facts or
--              kernel; `detail` holds the kernel before and after and the facts gained, lost or changed.
--   retracted  an admin withdrew one of the host's reports (`capreg retract`); `detail` as for changed.
--   stale      the host passed the freshness bound (`serve --stale-after`) without a report.
--   fresh      a stale host reported again (a report or a heartbeat).
CREATE TABLE watch_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,                    -- ms: when it was written
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    kind TEXT NOT NULL CHECK (kind IN ('changed', 'retracted', 'stale', 'fresh')),
    revision INTEGER,                       -- the registry revision that made it; NULL for stale and fresh
    detail TEXT                             -- JSON: {"kernel_before","kernel_after","changes":[{"name","before","after"}]}
);

-- When the host's stale event was written (ms); NULL while it is fresh as far as the stream goes. Heartbeats do
-- not touch it, and only the few stale hosts are in its partial index.
ALTER TABLE hosts ADD COLUMN stale_since INTEGER;
CREATE INDEX hosts_stale ON hosts (stale_since) WHERE stale_since IS NOT NULL;

-- The stream's one row of state. pruned_through: events up to this id were deleted (a watcher behind it gets
-- 410). stale_through: the freshness cutoff (ms, last_seen below it is stale) the last sweep applied; the next
-- sweep examines only hosts whose last_seen lies between it and the new cutoff, and a report that lifts a
-- stale-marked host to or past it makes the host fresh.
CREATE TABLE watch_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through INTEGER NOT NULL,
    stale_through INTEGER NOT NULL
);
INSERT INTO watch_state (id, pruned_through, stale_through) VALUES (1, 0, 0);
