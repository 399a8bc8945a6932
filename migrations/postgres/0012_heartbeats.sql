-- Heartbeats: SQLite's 0012 (migrations/sqlite/0012_heartbeats.sql says what they are), with this
-- backend's types. capreg_last_beat reads a row's times in SQL: the newest heartbeat at or before a time.
CREATE TABLE heartbeats (
    host_id BIGINT NOT NULL REFERENCES hosts(id) DEFERRABLE INITIALLY DEFERRED,
    first_at BIGINT NOT NULL,               -- ms: the first heartbeat's collected_at
    last_at BIGINT NOT NULL,                -- ms: the last one's
    report BIGINT NOT NULL REFERENCES reports(id) DEFERRABLE INITIALLY DEFERRED,  -- the report whose state they confirm
    times BYTEA NOT NULL,                   -- collected_at - first_at per heartbeat, u32 LE, ascending
    PRIMARY KEY (host_id, first_at)
);

-- For pruning (`first_at < cutoff AND last_at < cutoff`). Not on last_at, which every heartbeat moves: an
-- index on it would make each heartbeat's row update on PostgreSQL a non-HOT one, with new index entries.
CREATE INDEX heartbeats_first_at ON heartbeats (first_at);

ALTER TABLE reports ADD COLUMN confirms BIGINT REFERENCES reports(id) DEFERRABLE INITIALLY DEFERRED;  -- a heartbeat kept as a report: the report it repeats

-- capreg_last_beat(first_at, times, t): the newest heartbeat of a row at or before t (ms), NULL when
-- none is; as the SQLite function of the same name (StoreSQLite). Binary search over the u32 offsets.
CREATE FUNCTION capreg_last_beat(first_at bigint, times bytea, t bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    lo integer := 0;
    hi integer := length(times) / 4 - 1;
    mid integer;
    v bigint;
    best bigint := NULL;
BEGIN
    WHILE lo <= hi LOOP
        mid := (lo + hi) / 2;
        v := first_at + get_byte(times, mid * 4) + (get_byte(times, mid * 4 + 1)::bigint << 8)
            + (get_byte(times, mid * 4 + 2)::bigint << 16) + (get_byte(times, mid * 4 + 3)::bigint << 24);
        IF v <= t THEN
            best := v;
            lo := mid + 1;
        ELSE
            hi := mid - 1;
        END IF;
    END LOOP;
    RETURN best;
END
$$;
