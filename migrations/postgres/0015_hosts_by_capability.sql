-- Walks that start where the answer is: SQLite's 0015 (migrations/sqlite/0015_hosts_by_capability.sql says why).
-- hosts_vendor and hosts_nesting give way to hosts_by_vendor and hosts_by_nesting there too.
-- Key columns, not INCLUDE columns, for the reason 0013 gives. The planner weighs these against hosts_page
-- with the hosts_key_facts statistics (0013): for an equality on a capability few hosts have it takes the
-- index that starts with it.
--
-- Write cost here: a heartbeat's UPDATE hosts is not a HOT update (0013), so it adds an entry to each of
-- these too until vacuum.
DROP INDEX hosts_vendor;
DROP INDEX hosts_nesting;
CREATE INDEX hosts_by_vendor ON hosts (cur_vendor, hostname, cur_nesting, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
                                       cur_first_level_format, kernel_key);
CREATE INDEX hosts_by_pasid_bind ON hosts (cur_pasid_bind, hostname, cur_vendor, cur_nesting, cur_pasid_bits, cur_addr_width,
                                           cur_first_level_format, kernel_key);
CREATE INDEX hosts_by_nesting ON hosts (cur_nesting, hostname, cur_vendor, cur_pasid_bind, cur_pasid_bits, cur_addr_width,
                                        cur_first_level_format, kernel_key);
CREATE INDEX hosts_by_first_level ON hosts (cur_first_level_format, hostname, cur_vendor, cur_nesting, cur_pasid_bind,
                                            cur_pasid_bits, cur_addr_width, kernel_key);
