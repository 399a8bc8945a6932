-- The page walk (issue 16, "Compact answers"). A page now walks hosts in hostname order until it has
-- limit + 1 matches; a selective placement question (1,821 of 100,000 hosts) walks thousands of hosts for
-- its 101 rows. Through the hostname index alone each step reads the host's table row (~250 bytes) to test
-- the key facts. This index holds, in hostname order, every column an expression reads from a host row now
-- (the key facts and the kernel key, ~70 bytes per host): SQLite tests the key-fact conditions on the index
-- entry and reads the table row only for hosts that pass (a deferred seek), and a statement that selects
-- only the id and hostname never reads the table. HostQuerySQL puts the expression's conditions before the
-- freshness one, so that SQLite's planner sees them evaluated on the index and takes it.
--
-- Write cost: the columns change only with a report that changes the key facts or the kernel. last_seen
-- (every heartbeat moves it) is left out on purpose: the freshness test reads it from the table row of
-- the hosts that already passed.
CREATE INDEX hosts_page ON hosts (hostname, cur_vendor, cur_nesting, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
                                  cur_first_level_format, kernel_key);
