-- Heartbeats (issue 16, "Storage that grows with change"). A report that arrives in order and says what
-- the host's current report said (same content hash, labels, machine-id, collector version and writer)
-- changes nothing (and was not collected after the registry received it: a report from ahead of the
-- registry's clock stays a row, which `capreg retract` can name): it is kept as a heartbeat, 4 bytes in a row of its host's heartbeats, instead of a
-- reports row with its payload (~1 KB). It moves hosts.last_seen and makes no revision; its report_id is
-- not kept. A row holds up to 64 heartbeats confirming one report, in time order: `times` is each one's
-- collected_at minus first_at, unsigned 32-bit little-endian (so a row spans at most 49 days).
--
-- A report that arrives late, in the middle of heartbeats, ends where the next heartbeat begins: that
-- heartbeat is taken out of its row and kept as a reports row (outcome 'heartbeat', the payload of the
-- report it confirms, `confirms` naming that report), so that every boundary of a host's history is a
-- reports row and redecode, retraction and as-of answers read reports as before. Such a row counts while
-- the report it confirms counts: retracting a report withdraws its heartbeats too.
--
-- Heartbeat rows may be pruned (`capreg serve --keep-heartbeats`): facts and reports are not touched.
CREATE TABLE heartbeats (
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    first_at INTEGER NOT NULL,              -- ms: the first heartbeat's collected_at
    last_at INTEGER NOT NULL,               -- ms: the last one's
    report INTEGER NOT NULL REFERENCES reports(id),  -- the report whose state they confirm
    times BLOB NOT NULL,                    -- collected_at - first_at per heartbeat, u32 LE, ascending
    PRIMARY KEY (host_id, first_at)
) WITHOUT ROWID;

-- For pruning (`first_at < cutoff AND last_at < cutoff`). Not on last_at, which every heartbeat moves: an
-- index on it would make each heartbeat's row update on PostgreSQL a non-HOT one, with new index entries.
CREATE INDEX heartbeats_first_at ON heartbeats (first_at);

ALTER TABLE reports ADD COLUMN confirms INTEGER REFERENCES reports(id);  -- a heartbeat kept as a report: the report it repeats
