-- Retractions: an admin withdraws a stored report (`capreg retract`), e.g. one whose collected_at lies
-- in the far future and so would stay the host's newest forever. The report row and its payload stay;
-- a retraction row says it no longer counts, from the revision that retracted it on. History and the
-- current state are recomputed as if the report had never arrived, and the fact rows as they stood just
-- before are saved in facts_superseded under the retraction's revision (as a redecode does), so answers
-- at earlier revisions are unchanged.
CREATE TABLE retractions (
    report INTEGER PRIMARY KEY REFERENCES reports(id),   -- the retracted report (reports.id)
    revision INTEGER NOT NULL UNIQUE REFERENCES revisions(id),  -- the revision the retraction made
    at INTEGER NOT NULL,                    -- when it was retracted (ms)
    reason TEXT NOT NULL                    -- the admin's words (capreg retract --reason)
);

-- revisions.kind gains 'retraction'. SQLite cannot alter a CHECK, so the table is rebuilt (as 0005 did
-- with hosts); the migrator runs with foreign keys off and checks them all before it commits.
CREATE TABLE revisions_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'redecode', 'retraction')),
    at INTEGER NOT NULL,                    -- when it was written (ms): received_at for a report
    decoder_version INTEGER NOT NULL        -- decoders of the facts it wrote (backfill: the report's at migration)
);

INSERT INTO revisions_new (id, kind, at, decoder_version) SELECT id, kind, at, decoder_version FROM revisions ORDER BY id;
DROP TABLE revisions;
ALTER TABLE revisions_new RENAME TO revisions;
