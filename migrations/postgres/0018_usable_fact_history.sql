-- SQLite's 0018 (migrations/sqlite/0018_usable_fact_history.sql says why), with this backend's syntax.
CREATE INDEX facts_usable_history ON facts (name, valid_from, valid_to, host_id, value_int, value_text)
    WHERE name IN ('nesting', 'pasid_bind', 'first_level.format', 'pasid_bits', 'dirty_tracking');
