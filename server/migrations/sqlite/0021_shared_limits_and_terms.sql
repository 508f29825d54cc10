-- Several servers on one database share what a single server kept in memory.
--
-- The leadership's term: each server that takes the leadership counts it up, and
-- checks it in every write it makes while leading; a server that lost the leadership
-- without knowing it (its lock's connection gone, its process alive) is refused by
-- the database from the moment the next one claimed it (`crate::cluster`). SQLite has
-- one server; the column is here so that both schemas stay the same.
ALTER TABLE cluster_leader ADD COLUMN term INTEGER NOT NULL DEFAULT 0;

-- Failed sign-ins (and attempts whose password is being checked), so that a guesser
-- gets the same number of tries whichever server answers, and a restart forgets none
-- (`crate::sign_in_limits`). The right password forgives its account's failures
-- (`account_forgiven`, from every address) and the account's at its own address
-- (`pair_forgiven`); the address keeps counting them.
CREATE TABLE sign_in_failures (
    id        INTEGER PRIMARY KEY,
    account   TEXT    NOT NULL,
    address   TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    pair_forgiven    INTEGER NOT NULL DEFAULT 0 CHECK (pair_forgiven IN (0, 1)),
    account_forgiven INTEGER NOT NULL DEFAULT 0 CHECK (account_forgiven IN (0, 1))
);
CREATE INDEX sign_in_failures_account ON sign_in_failures (account, at_ms);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at_ms);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at_ms);
