-- The office's own thresholds for the rules, and morning check-ins (晨安).

-- Thresholds changed from what applies above them: the district's over the built-in
-- defaults (`home` is ''), a home's over the district's. A JSON object of the fields
-- of `rules::Thresholds` that differ.
CREATE TABLE threshold_overrides (
    home       TEXT    PRIMARY KEY,
    overrides  TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL,
    updated_by TEXT    NOT NULL
);

-- A morning check-in: someone saw or spoke to the elder of `home` at `at_ms`.
CREATE TABLE check_ins (
    id          INTEGER PRIMARY KEY,
    home        TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    by_actor    TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    recorded_ms INTEGER NOT NULL
);
CREATE INDEX check_ins_by_time ON check_ins (at_ms);
