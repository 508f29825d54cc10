-- Cases through the article's loop: who handles them, by when, and every step taken.

ALTER TABLE cases ADD COLUMN description TEXT NOT NULL DEFAULT '';
-- When the case should be closed (from its category and priority); NULL for cases
-- stored before, whose due time is worked out the same way when read.
ALTER TABLE cases ADD COLUMN due_ms INTEGER;
ALTER TABLE cases ADD COLUMN responsible TEXT;
ALTER TABLE cases ADD COLUMN cooperating TEXT NOT NULL DEFAULT '[]';   -- JSON array of parties
ALTER TABLE cases ADD COLUMN alert_id INTEGER;
ALTER TABLE cases ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
-- A case solved at the same spot before this one was reported: the problem came back.
ALTER TABLE cases ADD COLUMN recurs INTEGER;
CREATE INDEX cases_by_category ON cases (category, lat);

-- The timeline: each step (JSON `domain::cases::CaseStep`) with the stage after it.
CREATE TABLE case_events (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases (id),
    at_ms    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    step     TEXT    NOT NULL,
    stage    TEXT    NOT NULL
);
CREATE INDEX case_events_by_case ON case_events (case_id, id);
