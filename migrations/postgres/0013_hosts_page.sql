-- The page walk: SQLite's 0013 (migrations/sqlite/0013_hosts_page.sql says why). The key facts are key
-- columns, not INCLUDE columns: a btree scan tests conditions on any key column inside the index, so an
-- index scan in hostname order reads the heap only for hosts whose key facts pass (INCLUDE columns are
-- tested only after the heap fetch, unless the scan is index-only).
--
-- The planner picks it by its costs: on a synthetic fleet whose heap is in hostname order (inserted so) it
-- still prefers hosts_hostname_key, whose heap reads it counts as nearly sequential; measured by hand on
-- that fleet (100,000 hosts, the placement page of docs/figures.md) the walk through this index took
-- 0.56 ms, through hosts_hostname_key 2.1 ms.
--
-- Write cost here differs from SQLite: hosts.last_seen is in hosts_last_seen and hosts_count, so a
-- heartbeat's UPDATE hosts is not a HOT update, and a non-HOT update adds an entry to every index of the
-- table, this one included (vacuum reclaims them).
CREATE INDEX hosts_page ON hosts (hostname, cur_vendor, cur_nesting, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
                                  cur_first_level_format, kernel_key);

-- The key facts depend on each other (pasid_bind, the first-level format and the PASID width come
-- together): without these statistics the planner multiplies their selectivities, estimated the
-- placement question's 1,754 hosts as 1, and sorted the hosts_nesting range instead of walking in
-- hostname order (8 ms against 2 ms, measured by hand on the same fleet). ANALYZE (autovacuum's too) fills them.
CREATE STATISTICS hosts_key_facts (dependencies, mcv) ON cur_vendor, cur_nesting, cur_pasid_bind, cur_pasid_bits,
    cur_addr_width, cur_first_level_format FROM hosts;
