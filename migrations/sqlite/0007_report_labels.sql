-- Labels as each report gave them, so that questions as of a time or a revision read the labels of
-- the report in force then (until now they read today's). Hosts rarely change labels, so each distinct
-- label set is stored once and reports point at it. `print` is the set in LabelPrint's form
-- (`len:key len:value` per label in key order; Sources/Store/Ingestor.swift): equal prints, equal sets.
CREATE TABLE label_sets (
    id INTEGER PRIMARY KEY,
    print TEXT NOT NULL UNIQUE
);

CREATE TABLE label_set_entries (
    set_id INTEGER NOT NULL REFERENCES label_sets(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (set_id, key)
);

ALTER TABLE reports ADD COLUMN label_set_id INTEGER REFERENCES label_sets(id);

-- Backfill from each stored report's payload (the report as received).
CREATE TEMPORARY TABLE report_prints AS
SELECT r.id AS report_id, (
    SELECT coalesce(group_concat(e, ''), '') FROM (
        SELECT length(j.key) || ':' || j.key || length(j.value) || ':' || j.value AS e
        FROM json_each(r.payload, '$.host.labels') j ORDER BY j.key)
) AS print
FROM reports r;
CREATE INDEX temp.report_prints_id ON report_prints (report_id);

INSERT INTO label_sets (print) SELECT DISTINCT print FROM report_prints ORDER BY print;

UPDATE reports SET label_set_id = (
    SELECT s.id FROM report_prints p JOIN label_sets s ON s.print = p.print WHERE p.report_id = reports.id);

-- Each set's entries from one of its reports.
INSERT INTO label_set_entries (set_id, key, value)
SELECT first.set_id, j.key, j.value
FROM (SELECT label_set_id AS set_id, min(id) AS report_id FROM reports GROUP BY label_set_id) first
JOIN reports r ON r.id = first.report_id
JOIN json_each(r.payload, '$.host.labels') j;

DROP TABLE report_prints;
