-- Partner organisations (issue 15): `linli user add NAME --role partner --org ORG`. A
-- partner's account belongs to one party of the joint handling (the gas utility, the
-- property company, the police station…) and sees only the cases that party handles.
--
-- SQLite cannot change a CHECK constraint in place, so `users` is rebuilt. Dropping the
-- old table would cascade to the accounts' communities and sessions: their rows are
-- kept aside and put back (the foreign keys are checked at the commit).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE kept_user_communities AS SELECT * FROM user_communities;
CREATE TEMP TABLE kept_sessions AS SELECT * FROM sessions;

CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL
                  CHECK (role IN ('commander', 'grid-worker', 'viewer', 'partner')),
    created_ms    INTEGER NOT NULL,
    disabled_ms   INTEGER,
    -- The party a partner belongs to (linli_domain::cases::Party); staff have none.
    org           TEXT,
    CHECK ((role = 'partner') = (org IS NOT NULL))
);
INSERT INTO users_new (id, username, password_hash, role, created_ms, disabled_ms)
    SELECT id, username, password_hash, role, created_ms, disabled_ms FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

INSERT INTO user_communities SELECT * FROM kept_user_communities;
INSERT INTO sessions SELECT * FROM kept_sessions;
DROP TABLE kept_user_communities;
DROP TABLE kept_sessions;

-- The parties that marked their part of a case done (JSON array of parties).
ALTER TABLE cases ADD COLUMN parties_done TEXT NOT NULL DEFAULT '[]';
