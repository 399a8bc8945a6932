-- SQLite's 0018 (migrations/sqlite/0018_usable_fact_history.sql says why), with this backend's syntax.
CREATE INDEX facts_usable_history ON facts (name, valid_from, valid_to, host_id, value_int, value_text)
    WHERE name IN ('nesting', 'pasid_bind', 'first_level.format', 'pasid_bits', 'dirty_tracking');

-- Kernel moves (docs/audits.md): each counted report with the kernel of the host's report before it, read in
-- (host, time) order from this index alone instead of from the report rows (each holds its payload, so
-- reading 237,091 of them touched most of a 6 GB file on the 100,000-host, 30-day fleet).
CREATE INDEX reports_kernel_moves ON reports (host_id, collected_at, id, kernel_release, kernel_key, confirms);

-- Whether a host's registers were reported on both sides of a kernel move: the register-bearing capability
-- versions that closed or opened at the move, found in this index alone (the capability names as literals,
-- as Store/KernelUpgrades.swift writes them).
CREATE INDEX capability_versions_registers ON capability_versions (host_id, valid_to, valid_from)
    WHERE capability IN ('vtd-regs', 'amd-efr', 'iommufd-hw-info');
