-- Walks that start where the answer is (issue 16, "Compact answers"). hosts_page (0013) walks every host in
-- hostname order and tests the key facts on each index entry; the questions a scheduler asks name a usable
-- capability that few hosts have (the placement question of docs/figures.md matches 1,821 of 100,000 hosts),
-- so a page of 101 walked about 5,600 entries. These indexes start with that capability, then the hostname:
-- an equality on it (`pasid_bind`, `nesting`, `first_level.format = "intel-vtd"`, `iommu.vendor = "amd"`)
-- seeks to its hosts and reads them already in hostname order, about as many entries as the page has rows.
-- The rest of each entry is hosts_page's columns, so the other key-fact conditions are tested on the entry
-- too, and a statement that selects only the id and hostname never reads the table. Measured by hand
-- (python's sqlite3, the placement page on the 100,000-host fleet): the walk 0.27 -> 0.05 ms, the compact
-- page statement 0.41 -> 0.12 ms.
--
-- SQLite's planner (no ANALYZE statistics) takes an index with an equality on its first column and the
-- ORDER BY in its second over a scan; for a common value (`not nesting`) that is a walk like hosts_page's.
-- The same planner took hosts_vendor and hosts_nesting (0002: the key fact alone, or with the PASID and
-- address widths) for any equality on them, read every matching host's row and sorted them: a page of
-- `iommu.vendor = "intel"` read 65,000 rows for its 101 (20 ms), one of `nesting` 1.8 ms. Those two give way to
-- hosts_by_vendor and hosts_by_nesting, which answer what they answered (`nesting and pasid_bits >= N` tests
-- the width on the entry) and keep the hostname order.
-- Write cost: as hosts_page's, only a report that changes a key fact or the kernel moves these entries
-- (about 70 bytes a host each); a heartbeat moves last_seen, which none of them holds.
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
