-- Several servers on one database (`crate::cluster`): the one that runs the rules
-- says here how the others reach it, and the secret they forward with.
CREATE TABLE cluster_leader (
    "only"     BIGINT PRIMARY KEY CHECK ("only" = 1),
    instance   TEXT   NOT NULL,
    address    TEXT   NOT NULL,
    secret     TEXT   NOT NULL,
    since_ms   BIGINT NOT NULL
);

-- Every server's live streams follow the event log: a new row wakes them at once
-- (LISTEN linli_events), whichever server wrote it.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('linli_events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();
