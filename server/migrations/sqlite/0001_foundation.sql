-- Linli's foundation: the event log, communities, accounts and sessions.
-- Timestamps are milliseconds since the Unix epoch, UTC (the server's `Millis`).

-- The append-only event log. Every change to Linli's data writes one row here in the
-- same transaction as the change itself. AUTOINCREMENT keeps ids strictly increasing and
-- never reused; SQLite serialises writers, so id order is commit order. The id is what
-- browsers resume their live stream from.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms   INTEGER NOT NULL,
    actor   TEXT    NOT NULL,             -- 'user:<name>' or 'system:<part>'
    kind    TEXT    NOT NULL,             -- e.g. 'user.created', 'community.saved'
    data    TEXT    NOT NULL              -- JSON
);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

-- Communities (社区) with their boundary as a GeoJSON geometry (WGS84 lon/lat).
CREATE TABLE communities (
    id       TEXT PRIMARY KEY,            -- lowercase pinyin, e.g. 'xingfuli'
    name     TEXT NOT NULL,               -- Chinese name
    name_en  TEXT NOT NULL,
    geometry TEXT NOT NULL                -- GeoJSON geometry object
);

-- Staff accounts. Passwords are stored only as Argon2id PHC strings.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('commander', 'grid-worker', 'viewer')),
    created_ms    INTEGER NOT NULL
);

-- The communities a grid worker is bound to.
CREATE TABLE user_communities (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    community_id TEXT    NOT NULL REFERENCES communities (id),
    PRIMARY KEY (user_id, community_id)
);

-- Signed-in sessions, by the SHA-256 of the cookie's token (the token itself is never
-- stored, so a copy of the database cannot be used to sign in).
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
