-- Readings become append-only: the rules engine tells repeats apart in memory
-- (server/src/ingest/dedup.rs), and the unique indexes, which cost a random page write
-- per reading, go. Readings are read back only in id order (replay after a restart).
DROP INDEX readings_by_seq;
DROP INDEX readings_by_time;
