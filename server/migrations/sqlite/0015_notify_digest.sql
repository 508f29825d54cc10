-- Digests (issue 15): warnings of a community that sends them in a morning message, and
-- alerts of a home that paged for the same thing within the storm window, wait here
-- and go out together in one message per channel when due.
CREATE TABLE notify_digest (
    alert_id   INTEGER PRIMARY KEY,
    community  TEXT    NOT NULL,
    why        TEXT    NOT NULL CHECK (why IN ('morning', 'storm')),
    due_ms     INTEGER NOT NULL,
    -- The alert whose digest message carried it (the message's own alert).
    sent_with  INTEGER
);
CREATE INDEX notify_digest_due ON notify_digest (due_ms) WHERE sent_with IS NULL;
