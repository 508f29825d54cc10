-- Elder homes with their sensors, patrol routes, and cases.
-- Homes hold personal data (names, phones, rooms): only staff endpoints read them.

CREATE TABLE homes (
    id           TEXT PRIMARY KEY,
    building     TEXT NOT NULL,           -- feature id in the buildings layer
    community    TEXT NOT NULL REFERENCES communities (id),
    grid         TEXT,
    unit         INTEGER NOT NULL,
    floor        INTEGER NOT NULL,
    room         TEXT NOT NULL,
    resident     TEXT NOT NULL,
    age_band     TEXT NOT NULL,
    living_alone INTEGER NOT NULL CHECK (living_alone IN (0, 1)),
    care_level   TEXT NOT NULL CHECK (care_level IN ('independent', 'attention', 'intensive')),
    phone        TEXT,
    contact      TEXT,
    lon          REAL NOT NULL,
    lat          REAL NOT NULL
);
CREATE INDEX homes_by_community ON homes (community);

CREATE TABLE sensors (
    id           TEXT PRIMARY KEY,        -- device id, e.g. 'wm-000123'
    home         TEXT NOT NULL REFERENCES homes (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('water', 'gas', 'smoke')),
    health       TEXT NOT NULL CHECK (health IN ('ok', 'warning', 'offline', 'alarm')),
    battery_pct  INTEGER,
    last_seen_ms INTEGER
);
CREATE INDEX sensors_by_home ON sensors (home);

-- A route is a LineString with ordered checkpoints, both as JSON.
CREATE TABLE patrol_routes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    community   TEXT REFERENCES communities (id),
    schedule    TEXT NOT NULL,
    path        TEXT NOT NULL,            -- JSON [[lon, lat], …]
    checkpoints TEXT NOT NULL             -- JSON [{id, name, position}, …]
);

CREATE TABLE cases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT NOT NULL,
    category   TEXT NOT NULL,
    stage      TEXT NOT NULL,
    priority   TEXT NOT NULL,
    source     TEXT NOT NULL,
    community  TEXT NOT NULL REFERENCES communities (id),
    grid       TEXT,
    lon        REAL NOT NULL,
    lat        REAL NOT NULL,
    building   TEXT,
    opened_ms  INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    closed_ms  INTEGER,
    outcome    TEXT
);
CREATE INDEX cases_by_community ON cases (community, stage);
