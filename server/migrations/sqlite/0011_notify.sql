-- Notifications (issue 15): the channels alerts reach people by, each community's duty
-- roster, the escalation chain running for each alert that notifies, and the outbox of
-- messages decided (sent even across a restart, each once).
CREATE TABLE notify_channels (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,     -- wecom, dingtalk, feishu, webhook, sms
    url           TEXT    NOT NULL,
    secret        TEXT,
    communities   TEXT    NOT NULL,     -- JSON array of community ids; empty = all
    min_severity  TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL,
    deleted_ms    INTEGER
);

-- No foreign key: re-importing the communities layer must not fail for a roster (one
-- whose community is gone calls nobody; setting one checks the community).
CREATE TABLE duty_rosters (
    community   TEXT    PRIMARY KEY,
    roster      TEXT    NOT NULL,       -- JSON (linli_domain::notify::Roster), checked
    updated_ms  INTEGER NOT NULL
);

-- One per alert that notified: the level called last and when the next is called
-- unless somebody acknowledges first.
CREATE TABLE notify_chains (
    alert_id    INTEGER PRIMARY KEY,
    home        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    started_ms  INTEGER NOT NULL,
    level       INTEGER NOT NULL,       -- 1 is the first level called
    next_ms     INTEGER,                -- NULL once the chain has ended
    ended       TEXT                    -- acknowledged, resolved, last-level
);
CREATE INDEX notify_chains_due ON notify_chains (next_ms) WHERE next_ms IS NOT NULL;
CREATE INDEX notify_chains_by_home ON notify_chains (home, kind, started_ms);

CREATE TABLE notify_outbox (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER NOT NULL,
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
    UNIQUE (alert_id, level, channel_id)
);
CREATE INDEX notify_outbox_pending ON notify_outbox (next_try_ms) WHERE state = 'pending';
CREATE INDEX notify_outbox_by_alert ON notify_outbox (alert_id);

-- How far the notifier has read the event log.
CREATE TABLE notify_cursor (
    only      INTEGER PRIMARY KEY CHECK (only = 1),
    event_id  INTEGER NOT NULL
);
