-- Dispatch (issue 15): a person or a patrol unit sent to an alert or a case, and each
-- step of the task (accepted, arrived, done, declined).
CREATE TABLE dispatches (
    id          INTEGER PRIMARY KEY,
    assignee    TEXT    NOT NULL,       -- a user's name, or unit:<id>
    alert_id    INTEGER REFERENCES alerts (id),
    case_id     INTEGER REFERENCES cases (id),
    community   TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    lon         REAL    NOT NULL,
    lat         REAL    NOT NULL,
    note        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('sent', 'accepted', 'arrived', 'done', 'declined')),
    sent_by     TEXT    NOT NULL,
    sent_ms     INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    CHECK ((alert_id IS NULL) <> (case_id IS NULL))
);
CREATE INDEX dispatches_open ON dispatches (state, assignee);

CREATE TABLE dispatch_events (
    id           INTEGER PRIMARY KEY,
    dispatch_id  INTEGER NOT NULL REFERENCES dispatches (id),
    at_ms        INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    note         TEXT    NOT NULL
);
CREATE INDEX dispatch_events_by_dispatch ON dispatch_events (dispatch_id, id);
