-- capreg schema, version 1: tables. Plain SQL (no SQLite-only types) so that a PostgreSQL backend can
-- follow. Times are integer milliseconds since the Unix epoch. An open interval has
-- valid_to = 9223372036854775807 (not NULL) so that interval bounds are plain index ranges.

CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    hostname TEXT NOT NULL UNIQUE,
    machine_id TEXT,
    first_seen INTEGER NOT NULL,            -- oldest collected_at of its reports
    last_seen INTEGER NOT NULL,             -- newest collected_at of its reports
    last_received INTEGER NOT NULL,
    current_report_id INTEGER,              -- the newest report: the current state's source
    content_hash TEXT,                      -- content hash of the current state
    kernel_release TEXT,
    kernel_key TEXT,                        -- version-ordered kernel key (see reports.kernel_key)
    -- Current-state projection of the vendor-neutral key facts, one row per host, so that
    -- placement questions read one indexed row instead of intersecting fact rows.
    -- NULL means the fact is absent (unknown). Booleans are 0/1.
    cur_vendor TEXT,
    cur_nesting INTEGER,
    cur_pasid_bind INTEGER,
    cur_pasid_bits INTEGER,
    cur_addr_width INTEGER,
    cur_first_level_format TEXT
);

CREATE TABLE host_labels (
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (host_id, key)
);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,                 -- receive order; breaks ties of equal collected_at
    report_id TEXT NOT NULL UNIQUE,         -- the agent's id: a repeat is the same report
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    collected_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    kernel_release TEXT NOT NULL,
    kernel_major INTEGER NOT NULL,
    kernel_minor INTEGER NOT NULL,
    kernel_patch INTEGER NOT NULL,
    kernel_flavour TEXT NOT NULL,
    kernel_key TEXT NOT NULL,               -- zero-padded major.minor.patch then flavour: sorts as versions
    collector_version TEXT NOT NULL,
    source_kinds TEXT NOT NULL,             -- sorted distinct kinds, comma separated
    content_hash TEXT NOT NULL,             -- SHA-256 of kernel, host facts and capability raw bytes
    payload TEXT NOT NULL,                  -- the report as received (JSON)
    decoder_version INTEGER NOT NULL,       -- decoders that produced its facts (redecode raises it)
    outcome TEXT NOT NULL,                  -- created | changed | unchanged | history
    facts_opened INTEGER NOT NULL,
    facts_closed INTEGER NOT NULL
);

CREATE TABLE capability_versions (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    unit TEXT NOT NULL,                     -- dmar0, vfio-group-12, an iommufd device
    capability TEXT NOT NULL,               -- vtd-regs, amd-efr, vfio-info, vfio-cap-N, iommufd-hw-info
    capability_version INTEGER NOT NULL,
    kernel_release TEXT NOT NULL,
    raw BLOB NOT NULL,
    decoder_version INTEGER NOT NULL,
    decoded TEXT NOT NULL,                  -- JSON: {"facts":{name:value},"notes":[...]}
    valid_from INTEGER NOT NULL,
    valid_to INTEGER NOT NULL,
    opened_by INTEGER NOT NULL REFERENCES reports(id),
    closed_by INTEGER REFERENCES reports(id)
);

CREATE TABLE facts (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    name TEXT NOT NULL,                     -- vocabulary name
    type TEXT NOT NULL CHECK (type IN ('bool', 'int', 'text')),
    value_int INTEGER,                      -- bool (0/1) and int values: compare as integers
    value_text TEXT,                        -- text values
    valid_from INTEGER NOT NULL,
    valid_to INTEGER NOT NULL,
    opened_by INTEGER NOT NULL REFERENCES reports(id),
    closed_by INTEGER REFERENCES reports(id)
);

-- All current facts of every host (the open rows of facts), for "now" questions on any name.
CREATE TABLE current_facts (
    host_id INTEGER NOT NULL REFERENCES hosts(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    value_int INTEGER,
    value_text TEXT,
    since INTEGER NOT NULL,
    PRIMARY KEY (host_id, name)
);
