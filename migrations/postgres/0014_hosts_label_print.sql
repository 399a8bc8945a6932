-- Each host's current labels in its own row (issue 16, "Compact answers"): `len:key len:value` per label in
-- key order, lengths in characters (Store's LabelPrint, which ingest compares with a report's labels). A page
-- of hosts read its labels with a statement of its own; the page statement now reads them with the row it
-- already reads. Ingest read the same string through a subquery on host_labels for every report, heartbeats
-- included. host_labels stays: label conditions search it. (key is COLLATE "C": byte order, as SQLite's.)
ALTER TABLE hosts ADD COLUMN label_print TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE hosts SET label_print = (
    SELECT coalesce(string_agg(length(key) || ':' || key || length(value) || ':' || value, '' ORDER BY key), '')
    FROM host_labels WHERE host_id = hosts.id)
WHERE EXISTS (SELECT 1 FROM host_labels WHERE host_id = hosts.id);
