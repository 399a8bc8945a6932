-- SQLite's 0019 (migrations/sqlite/0019_kernel_moves.sql says why), with this backend's types.
CREATE TABLE kernel_moves (
    report BIGINT PRIMARY KEY REFERENCES reports(id) DEFERRABLE INITIALLY DEFERRED,
    host_id BIGINT NOT NULL REFERENCES hosts(id) DEFERRABLE INITIALLY DEFERRED,
    at BIGINT NOT NULL,
    from_release TEXT COLLATE "C" NOT NULL,
    to_release TEXT COLLATE "C" NOT NULL,
    cause TEXT COLLATE "C" NOT NULL CHECK (cause IN ('kernel', 'hardware', 'unknown'))
);
CREATE INDEX kernel_moves_host ON kernel_moves (host_id);

CREATE TABLE kernel_move_changes (
    report BIGINT NOT NULL REFERENCES kernel_moves(report) DEFERRABLE INITIALLY DEFERRED,
    name TEXT COLLATE "C" NOT NULL,
    before_type TEXT COLLATE "C" CHECK (before_type IN ('bool', 'int', 'text')),
    before_int BIGINT,
    before_text TEXT COLLATE "C",
    after_type TEXT COLLATE "C" CHECK (after_type IN ('bool', 'int', 'text')),
    after_int BIGINT,
    after_text TEXT COLLATE "C",
    PRIMARY KEY (report, name)
);

CREATE TABLE derived_rebuilds (name TEXT COLLATE "C" PRIMARY KEY);
INSERT INTO derived_rebuilds (name) VALUES ('kernel_moves');
