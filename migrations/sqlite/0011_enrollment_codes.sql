-- Enrollment codes (issue 15, "Fleet identity"): an admin issues a one-time, short-lived code bound to a
-- host (`capreg token enroll`); the host's collector trades it for its own collector credential
-- (POST /v1/enroll, `capreg collect --enroll`). As for credentials, only the SHA-256 of the code is kept
-- (`capreg_enroll_<id>_<64 hex>`: 256 random bits, so a plain digest suffices).
CREATE TABLE enrollment_codes (
    id TEXT PRIMARY KEY,                    -- 16 lowercase hex digits, also in the code; safe to show and log
    digest TEXT NOT NULL,                   -- SHA-256 of the whole code, 64 lowercase hex digits
    hostname TEXT,                          -- the host the code (and the credential it becomes) is bound to:
    machine_id TEXT,                        -- … hostname and/or machine-id, as for a collector credential
    created_at INTEGER NOT NULL,            -- ms
    expires_at INTEGER NOT NULL,            -- ms; always set: a code lives an hour by default, a week at most
    used_at INTEGER,                        -- ms; set once, by the redemption that consumed it
    credential TEXT REFERENCES credentials(id),  -- the credential it became
    revoked_at INTEGER,                     -- ms; an unused code withdrawn by an admin
    issued_by TEXT,                         -- who issued it, when known (the local user of `capreg token enroll`)
    refusals INTEGER NOT NULL DEFAULT 0,    -- redemptions refused (used, expired, revoked, another host): for operators
    last_refused_at INTEGER,                -- ms
    last_refusal TEXT,                      -- why the last one was refused, in words
    CHECK (hostname IS NOT NULL OR machine_id IS NOT NULL),
    CHECK ((used_at IS NULL) = (credential IS NULL)),
    CHECK (expires_at > created_at AND expires_at - created_at <= 7 * 86400000)
);

-- credential_events gains the 'enroll' kind and events about codes (issue and revoke of a code, no
-- credential yet). SQLite cannot alter a CHECK, so the table is rebuilt: a new one, every row copied with
-- its id, the old one dropped (with its index and triggers), the new one renamed, index and triggers made again.
CREATE TABLE credential_events_rebuilt (
    id INTEGER PRIMARY KEY,
    credential TEXT REFERENCES credentials(id),            -- NULL for an event of a code not yet redeemed
    enrollment_code TEXT REFERENCES enrollment_codes(id),  -- the code an event concerns (enroll: the one redeemed)
    kind TEXT NOT NULL CHECK (kind IN ('issue', 'rotate', 'revoke', 'enroll')),
    at INTEGER NOT NULL,                    -- ms
    detail TEXT NOT NULL,                   -- words for people: role and binding, the overlap, the new id, the code
    CHECK (credential IS NOT NULL OR enrollment_code IS NOT NULL),
    CHECK (kind != 'enroll' OR (credential IS NOT NULL AND enrollment_code IS NOT NULL))
);
INSERT INTO credential_events_rebuilt (id, credential, kind, at, detail)
    SELECT id, credential, kind, at, detail FROM credential_events ORDER BY id;
DROP TABLE credential_events;
ALTER TABLE credential_events_rebuilt RENAME TO credential_events;
CREATE INDEX credential_events_by_credential ON credential_events (credential, id);
CREATE INDEX credential_events_by_code ON credential_events (enrollment_code, id) WHERE enrollment_code IS NOT NULL;

CREATE TRIGGER credential_events_no_update BEFORE UPDATE ON credential_events
BEGIN SELECT RAISE(ABORT, 'credential_events is append-only'); END;
CREATE TRIGGER credential_events_no_delete BEFORE DELETE ON credential_events
BEGIN SELECT RAISE(ABORT, 'credential_events is append-only'); END;
