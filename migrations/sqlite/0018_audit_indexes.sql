-- The history of the usable facts (CrossVendor.usableNames: what a VM can get) by name and time, for the
-- audits page's chart of capability counts over time per kernel (docs/audits.md). Without it a name's
-- history is a scan of every fact row (about 10 million on a 100,000-host, 30-day registry); with it, a
-- range of about a hundred thousand entries per name, read from the index alone (it holds every column the
-- chart reads). Partial: five names of about seventy, so the index
-- stays a small fraction of the table. Queries name the fact as a literal (a bound parameter cannot prove
-- the index's condition), from the fixed list in Store/CapabilityTimeline.swift.
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
