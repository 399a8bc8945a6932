-- Credentials (issue 15, "Fleet identity"): bearer credentials kept in the registry, issued and revoked
-- with `capreg token`. The secret itself is never stored: only the SHA-256 of the presented token
-- (`capreg_<id>_<64 hex>`; 256 random bits, so a plain digest suffices, no password stretching). The
-- server finds the row by the id inside the token and compares digests in constant time.
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,                    -- 16 lowercase hex digits, also in the token; safe to show and log
    role TEXT NOT NULL CHECK (role IN ('reader', 'collector', 'admin')),
    hostname TEXT,                          -- a collector's binding: the hostname its reports must carry
    machine_id TEXT,                        -- … and/or the machine-id they must carry
    host_pattern INTEGER NOT NULL DEFAULT 0 CHECK (host_pattern IN (0, 1)),  -- 1: hostname is a `*` pattern (admin's explicit choice)
    digest TEXT NOT NULL,                   -- SHA-256 of the whole token, 64 lowercase hex digits
    created_at INTEGER NOT NULL,            -- ms
    expires_at INTEGER,                     -- ms; NULL: never
    revoked_at INTEGER,                     -- ms; NULL: not revoked
    rotated_from TEXT REFERENCES credentials(id),  -- the credential this one replaced (capreg token rotate)
    CHECK (role = 'collector' OR (hostname IS NULL AND machine_id IS NULL AND host_pattern = 0)),
    CHECK (role != 'collector' OR hostname IS NOT NULL OR machine_id IS NOT NULL)
);

-- What was done to credentials, when: appended, never changed or deleted (triggers below refuse both).
CREATE TABLE credential_events (
    id INTEGER PRIMARY KEY,
    credential TEXT NOT NULL REFERENCES credentials(id),
    kind TEXT NOT NULL CHECK (kind IN ('issue', 'rotate', 'revoke')),
    at INTEGER NOT NULL,                    -- ms
    detail TEXT NOT NULL                    -- words for people: role and binding, the overlap, the new id
);
CREATE INDEX credential_events_by_credential ON credential_events (credential, id);

CREATE TRIGGER credential_events_no_update BEFORE UPDATE ON credential_events
BEGIN SELECT RAISE(ABORT, 'credential_events is append-only'); END;
CREATE TRIGGER credential_events_no_delete BEFORE DELETE ON credential_events
BEGIN SELECT RAISE(ABORT, 'credential_events is append-only'); END;
