-- Several servers on one PostgreSQL database (`crate::cluster`): the one that runs the
-- rules says here how the others reach it, and the secret they forward with. SQLite
-- has one server, which runs the rules itself; the table is here so that both schemas
-- stay the same (`linli store copy`).
CREATE TABLE cluster_leader (
    only       INTEGER PRIMARY KEY CHECK (only = 1),
    instance   TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    since_ms   INTEGER NOT NULL
);
