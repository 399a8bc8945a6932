-- Registry revisions: every write is one, numbered in commit order. A stored report takes its number
-- for its row id (reports.id = its revision), so "the reports of revisions 1…N" stays `reports.id <= N`;
-- a redecode batch is a revision of its own. Existing reports become revisions with their ids.
CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'redecode')),
    at INTEGER NOT NULL,                    -- when it was written (ms): received_at for a report
    decoder_version INTEGER NOT NULL        -- decoders of the facts it wrote (backfill: the report's at migration)
);

INSERT INTO revisions (id, kind, at, decoder_version) SELECT id, 'report', received_at, decoder_version FROM reports;

-- A host's fact rows as they stood just before a redecode revision rewrote them, so that an answer at
-- an earlier revision reads the facts it was first given (decoded by the decoders of that time).
-- A redecode that changes nothing of a host copies nothing.
CREATE TABLE facts_superseded (
    revision INTEGER NOT NULL REFERENCES revisions(id),  -- the redecode revision that replaced them
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    value_int INTEGER,
    value_text TEXT,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER NOT NULL
);

CREATE INDEX facts_superseded_host ON facts_superseded (host_id, revision, valid_to, valid_from);
