-- Per-device facts: SQLite's 0017 (migrations/sqlite/0017_current_device_facts.sql says what it holds),
-- with this backend's types.
CREATE TABLE current_device_facts (
    host_id BIGINT NOT NULL REFERENCES hosts(id) DEFERRABLE INITIALLY DEFERRED,
    bdf TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL CHECK (type IN ('bool', 'int', 'text')),
    value_int BIGINT,
    value_text TEXT COLLATE "C",
    PRIMARY KEY (host_id, bdf, name)
);
