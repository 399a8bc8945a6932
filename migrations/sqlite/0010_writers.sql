-- Who wrote what (issue 15, "Fleet identity"). Each report records the identity that wrote it and the
-- peer address the server saw; a write refused for its host is recorded too. `capreg audit --host H`
-- merges both with the host's retractions and its credentials' events into one timeline.
--
-- written_by: `cred:<16 hex>` (a registry credential), `token:<12 hex>` (a --tokens file token),
-- `ip:ADDRESS` (auth off), `cli:ingest:USER` / `cli:synth:USER` (the CLI, by OS user). NULL: unknown,
-- which every report stored before this migration is. peer: the address the server saw; NULL for the
-- CLI. Both are ours, not the client's words; the bounds are also checked in code (Store/Writer.swift).
ALTER TABLE reports ADD COLUMN written_by TEXT CHECK (written_by IS NULL OR length(written_by) BETWEEN 1 AND 80);
ALTER TABLE reports ADD COLUMN peer TEXT CHECK (peer IS NULL OR length(peer) BETWEEN 1 AND 64);

-- Writes refused for their host (403 host_mismatch: a collector credential bound to another host), one row
-- per refused request, naming the first report that did not match. Appended, never changed or deleted
-- (triggers below refuse both). Growth is bounded in code: at most SQLiteStore.maxRefusalsPerMinute rows
-- per identity in any 60 s; the rest are counted in /metrics only. Refusals need a bound credential, so
-- the table grows at most that fast per credential an admin issued (docs/api.md, "Who wrote what").
-- hostname, machine_id and report_id are what the refused report claimed, already checked by the report
-- decoder (at most 255 characters, no control or format characters).
CREATE TABLE write_refusals (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,                    -- ms
    identity TEXT CHECK (identity IS NULL OR length(identity) BETWEEN 1 AND 80),  -- who tried, as reports.written_by
    peer TEXT CHECK (peer IS NULL OR length(peer) BETWEEN 1 AND 64),
    hostname TEXT NOT NULL CHECK (length(hostname) BETWEEN 1 AND 255),   -- the host the report claimed
    machine_id TEXT CHECK (machine_id IS NULL OR length(machine_id) BETWEEN 1 AND 255),
    report_id TEXT NOT NULL CHECK (length(report_id) BETWEEN 1 AND 255),
    reason TEXT NOT NULL,                   -- the API's error code: host_mismatch
    detail TEXT NOT NULL                    -- words for people: the binding the claim did not match
);
CREATE INDEX write_refusals_by_hostname ON write_refusals (hostname, at);
CREATE INDEX write_refusals_by_machine_id ON write_refusals (machine_id, at) WHERE machine_id IS NOT NULL;
CREATE INDEX write_refusals_by_identity ON write_refusals (identity, at);

CREATE TRIGGER write_refusals_no_update BEFORE UPDATE ON write_refusals
BEGIN SELECT RAISE(ABORT, 'write_refusals is append-only'); END;
CREATE TRIGGER write_refusals_no_delete BEFORE DELETE ON write_refusals
BEGIN SELECT RAISE(ABORT, 'write_refusals is append-only'); END;
