-- Counting hosts (explain's totals, totals=true, the stale list) visits every host that the
-- expression's columns cannot narrow. This index holds every column a count over the current state
-- reads from a host row (the freshness time, the key facts, the kernel), about 60 bytes per host
-- against about 150 in the table, so such a count reads the index alone. Pages still walk hosts in
-- hostname order through its unique index.
CREATE INDEX hosts_count ON hosts (last_seen, cur_vendor, cur_nesting, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
                                   cur_first_level_format, kernel_key);
