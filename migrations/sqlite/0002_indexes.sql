-- capreg schema, version 2: indexes for history, as-of, change-feed and current-state queries.

-- One host: its history (host prefix), its state as of T and the rows an ingest at T touches
-- (valid_to >= T is a range within the host).
CREATE INDEX facts_host_to ON facts (host_id, valid_to, valid_from);
-- Fleet state as of T: rows still valid after T (valid_to > T), filtered on valid_from in the index.
CREATE INDEX facts_to_from ON facts (valid_to, valid_from);
-- Change feed: rows that opened in a window.
CREATE INDEX facts_from ON facts (valid_from);

CREATE INDEX capability_versions_host_to ON capability_versions (host_id, valid_to, valid_from);

-- A host's reports in time order (receive order breaks ties): next/previous report, history.
CREATE INDEX reports_host_time ON reports (host_id, collected_at, id);
-- Reports not yet read by today's decoders (redecode).
CREATE INDEX reports_decoder ON reports (decoder_version, id);

-- "Which hosts have name = value now".
CREATE INDEX current_facts_name_int ON current_facts (name, value_int);
CREATE INDEX current_facts_name_text ON current_facts (name, value_text);

-- Placement questions on the key facts.
CREATE INDEX hosts_nesting ON hosts (cur_nesting, cur_pasid_bits, cur_addr_width);
CREATE INDEX hosts_vendor ON hosts (cur_vendor);
CREATE INDEX hosts_last_seen ON hosts (last_seen);
CREATE INDEX hosts_kernel ON hosts (kernel_key);
