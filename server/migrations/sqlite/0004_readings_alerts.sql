-- Sensor readings, the credentials devices and gateways send them with, the alerts the
-- rules raise, and the rules' remembered state.

-- A device's token, by its SHA-256 (the token itself is shown once by
-- `linli device add` and never stored). Kept apart from `sensors`, so that importing
-- homes again does not void the tokens of devices already installed.
CREATE TABLE device_tokens (
    device     TEXT    PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);

-- A gateway sends for the devices of its communities (all, when the list is empty).
CREATE TABLE gateways (
    id          TEXT    PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    communities TEXT    NOT NULL,         -- JSON array of community ids
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
);

-- Every reading accepted, once. JSON readings are identified by (device, seq), SenML
-- records by (device, metric, time); a repeat is ignored and counted as a duplicate.
-- `metric` is the index of the metric in `ingest::parse::Metric::ALL` (stable: new
-- metrics are only ever appended). The id orders readings as they were committed.
CREATE TABLE readings (
    id     INTEGER PRIMARY KEY,
    device TEXT    NOT NULL,
    seq    INTEGER,
    at_ms  INTEGER NOT NULL,
    metric INTEGER NOT NULL,
    value  REAL    NOT NULL
);
CREATE UNIQUE INDEX readings_by_seq ON readings (device, seq) WHERE seq IS NOT NULL;
CREATE UNIQUE INDEX readings_by_time ON readings (device, metric, at_ms) WHERE seq IS NULL;

-- Alerts: the whole alert as the API shows it (`data`), with the columns lists filter
-- and sort on. At most one alert per home and kind is not resolved.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    home        TEXT    NOT NULL,
    community   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    raised_ms   INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    resolved_ms INTEGER,
    data        TEXT    NOT NULL
);
CREATE UNIQUE INDEX one_active_alert_per_home_and_kind ON alerts (home, kind)
    WHERE state != 'resolved';
CREATE INDEX alerts_by_state ON alerts (state, community);

-- What the rules remember of every home (learned water patterns, open conditions), as
-- of the reading `reading_id`; readings after it are replayed when the server starts.
CREATE TABLE rule_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    reading_id INTEGER NOT NULL,
    saved_ms   INTEGER NOT NULL,
    homes      TEXT    NOT NULL           -- JSON object: home id → state
);
