-- Rounds of a chain (issue 15): an alert the rules cleared by themselves (a warning
-- whose condition went away) and that came back within `reopen_within_ms` is the same
-- alert, open again. Its chain had ended; it starts again as a new round, whose
-- messages are new messages: the outbox's one-message-per-(alert, level, channel)
-- becomes one per (alert, round, level, channel). Rows from before are round 1.
ALTER TABLE notify_chains ADD COLUMN round INTEGER NOT NULL DEFAULT 1;

CREATE TABLE notify_outbox_new (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER NOT NULL,
    round        INTEGER NOT NULL DEFAULT 1,
    level        INTEGER NOT NULL,      -- 0: a channel with no roster behind it
    level_title  TEXT    NOT NULL,
    channel_id   INTEGER NOT NULL REFERENCES notify_channels (id),
    person       TEXT,                  -- JSON OnDuty, when the roster named somebody
    message      TEXT    NOT NULL,      -- JSON: headline, lines, link, alert
    state        TEXT    NOT NULL,      -- pending, sent, failed, cancelled
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_try_ms  INTEGER NOT NULL,
    error        TEXT,
    decided_ms   INTEGER NOT NULL,
    sent_ms      INTEGER,
    UNIQUE (alert_id, round, level, channel_id)
);
INSERT INTO notify_outbox_new (id, alert_id, level, level_title, channel_id, person, message,
                               state, attempts, next_try_ms, error, decided_ms, sent_ms)
    SELECT id, alert_id, level, level_title, channel_id, person, message,
           state, attempts, next_try_ms, error, decided_ms, sent_ms FROM notify_outbox;
DROP TABLE notify_outbox;
ALTER TABLE notify_outbox_new RENAME TO notify_outbox;
CREATE INDEX notify_outbox_pending ON notify_outbox (next_try_ms) WHERE state = 'pending';
CREATE INDEX notify_outbox_by_alert ON notify_outbox (alert_id);
