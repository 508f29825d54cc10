-- Patrol runs: a unit walking a route, the checkpoints it covered and where it was last.
CREATE TABLE patrol_runs (
    id          INTEGER PRIMARY KEY,
    unit        TEXT    NOT NULL,
    route       TEXT    NOT NULL REFERENCES patrol_routes (id),
    started_ms  INTEGER NOT NULL,
    started_by  TEXT    NOT NULL,
    ended_ms    INTEGER,
    covered     TEXT    NOT NULL DEFAULT '[]',   -- JSON [{checkpoint, at}], in order reached
    positions   INTEGER NOT NULL DEFAULT 0,
    off_route_positions INTEGER NOT NULL DEFAULT 0,
    lon         REAL,
    lat         REAL,
    last_ms     INTEGER,
    off_route   INTEGER NOT NULL DEFAULT 0
);
-- At most one run per unit is under way.
CREATE UNIQUE INDEX one_open_run_per_unit ON patrol_runs (unit) WHERE ended_ms IS NULL;
CREATE INDEX patrol_runs_by_unit ON patrol_runs (unit, id);
