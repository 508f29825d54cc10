-- Patrols on the tablet (issue 16): a run that ended with checkpoints missed keeps the
-- reason the team gave, and a case a team reported on its walk names the run.
ALTER TABLE patrol_runs ADD COLUMN missed_reason TEXT;
ALTER TABLE cases ADD COLUMN patrol_run INTEGER REFERENCES patrol_runs (id);
