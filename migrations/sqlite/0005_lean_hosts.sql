-- hosts.cur_facts (0003) moves to a table of its own. In the hosts row it made every row about 2 KB,
-- so each question that visits every host (a count, explain's hosts that do not match, a profile
-- walking the fleet) read about 200 MB at 100,000 hosts. Host rows are now about 150 bytes; the
-- encoded object is read only for the hosts of an answer's page (docs/figures.md: before and after).
CREATE TABLE host_facts_json (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id),
    facts TEXT NOT NULL                     -- the host's current facts, {name: value} in name (byte) order
);

INSERT INTO host_facts_json (host_id, facts) SELECT id, cur_facts FROM hosts;

-- The hosts table is rebuilt rather than altered (ALTER TABLE … DROP COLUMN leaves every row on its
-- old page, so a scan would still read the pages the objects filled). The migrator runs each migration
-- with foreign keys off and checks them all before it commits.
CREATE TABLE hosts_lean (
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
    -- Current-state projection of the vendor-neutral key facts (0001); NULL means absent (unknown).
    cur_vendor TEXT,
    cur_nesting INTEGER,
    cur_pasid_bind INTEGER,
    cur_pasid_bits INTEGER,
    cur_addr_width INTEGER,
    cur_first_level_format TEXT
);

INSERT INTO hosts_lean (id, hostname, machine_id, first_seen, last_seen, last_received, current_report_id, content_hash,
                        kernel_release, kernel_key, cur_vendor, cur_nesting, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
                        cur_first_level_format)
SELECT id, hostname, machine_id, first_seen, last_seen, last_received, current_report_id, content_hash,
       kernel_release, kernel_key, cur_vendor, cur_nesting, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
       cur_first_level_format
FROM hosts ORDER BY id;

DROP TABLE hosts;
ALTER TABLE hosts_lean RENAME TO hosts;

-- The indexes of 0002 went with the old table.
CREATE INDEX hosts_nesting ON hosts (cur_nesting, cur_pasid_bits, cur_addr_width);
CREATE INDEX hosts_vendor ON hosts (cur_vendor);
CREATE INDEX hosts_last_seen ON hosts (last_seen);
CREATE INDEX hosts_kernel ON hosts (kernel_key);
