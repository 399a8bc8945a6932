-- Kernel moves and what each changed (docs/audits.md), kept as history is written rather than found at
-- each audit: finding them meant two fact-row seeks per move (1.26 million random reads on the
-- 100,000-host, 30-day fleet, 3.7 s for every kernel pair). Derived data: Store/KernelMoveSummary.swift
-- rewrites a host's rows whenever a write changes its history (a report stored in or out of order, a
-- heartbeat kept as a report, a retraction, a redecode), from the reports, retractions, facts and
-- capability versions alone. It is filled for the registry already stored by the rebuild named below.

-- One per move: a counted report on another kernel release than the host's counted report before it.
CREATE TABLE kernel_moves (
    report INTEGER PRIMARY KEY REFERENCES reports(id),   -- the report on the new kernel
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    at INTEGER NOT NULL,                                 -- its collected_at
    from_release TEXT NOT NULL,
    to_release TEXT NOT NULL,
    -- kernel: the host's registers read the same on both sides; hardware: one read differently;
    -- unknown: registers not reported on both sides.
    cause TEXT NOT NULL CHECK (cause IN ('kernel', 'hardware', 'unknown'))
);
CREATE INDEX kernel_moves_host ON kernel_moves (host_id);

-- Each fact whose value differs across a move: before (the row that closed at the move) and after (the
-- row that opened at it), as the facts table holds values; a NULL type is an absent fact.
CREATE TABLE kernel_move_changes (
    report INTEGER NOT NULL REFERENCES kernel_moves(report),
    name TEXT NOT NULL,
    before_type TEXT CHECK (before_type IN ('bool', 'int', 'text')),
    before_int INTEGER,
    before_text TEXT,
    after_type TEXT CHECK (after_type IN ('bool', 'int', 'text')),
    after_int INTEGER,
    after_text TEXT,
    PRIMARY KEY (report, name)
) WITHOUT ROWID;

-- Derived tables a capreg must fill from the stored history once every migration is applied (Store's
-- DerivedRebuilds, in the same transaction that deletes the row).
CREATE TABLE derived_rebuilds (name TEXT PRIMARY KEY);
INSERT INTO derived_rebuilds (name) VALUES ('kernel_moves');
