-- Public notices: what the street office tells residents on the public page (a water
-- cut, a clinic day). Shown from `published_ms` until `until_ms` (when given) or until
-- withdrawn.
CREATE TABLE notices (
    id            INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    published_ms  INTEGER NOT NULL,
    published_by  TEXT    NOT NULL,
    until_ms      INTEGER,
    withdrawn_ms  INTEGER
);
CREATE INDEX notices_by_time ON notices (published_ms);
