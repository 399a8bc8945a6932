-- hosts.cur_facts (0003) moves to a table of its own. In the hosts row it made every row about 2 KB,
-- so each question that visits every host (a count, explain's hosts that do not match, a profile
-- walking the fleet) read about 200 MB at 100,000 hosts. Host rows are now about 150 bytes; the
-- encoded object is read only for the hosts of an answer's page (docs/figures.md: before and after).
CREATE TABLE host_facts_json (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id),
    facts TEXT NOT NULL                     -- the host's current facts, {name: value} in name (byte) order
);

INSERT INTO host_facts_json (host_id, facts) SELECT id, cur_facts FROM hosts;

ALTER TABLE hosts DROP COLUMN cur_facts;
