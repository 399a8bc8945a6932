-- hosts.cur_facts: the host's current facts as one JSON object, {name: value} in name (byte) order,
-- exactly the `facts` object the API answers with. Ingest writes it with current_facts in the same
-- transaction (StateWriter), so that a page of whole hosts reads one row per host instead of one row
-- per fact (about 70 per host): docs/figures.md has the before and after.
ALTER TABLE hosts ADD COLUMN cur_facts TEXT NOT NULL DEFAULT '{}';

UPDATE hosts SET cur_facts = coalesce((
    SELECT json_group_object(name, CASE type
            WHEN 'bool' THEN json(CASE WHEN value_int != 0 THEN 'true' ELSE 'false' END)
            WHEN 'int' THEN value_int
            ELSE value_text END)
    FROM (SELECT name, type, value_int, value_text FROM current_facts c WHERE c.host_id = hosts.id ORDER BY name)
), '{}');
