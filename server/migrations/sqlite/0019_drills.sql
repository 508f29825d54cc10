-- Drills (应急演练, issue 16): a drill's alert is marked, and may stand beside a real
-- alert of the same home and kind (a drill never hides a real alert, nor a real one
-- a drill). A case opened from a drill's alert is marked too.
ALTER TABLE alerts ADD COLUMN drill INTEGER NOT NULL DEFAULT 0 CHECK (drill IN (0, 1));
DROP INDEX one_active_alert_per_home_and_kind;
CREATE UNIQUE INDEX one_active_alert_per_home_and_kind ON alerts (home, kind, drill)
    WHERE state != 'resolved';
ALTER TABLE cases ADD COLUMN drill INTEGER NOT NULL DEFAULT 0 CHECK (drill IN (0, 1));
