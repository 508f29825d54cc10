-- A case's report is a step of its own kind (issue 16): the first entry of every
-- timeline, `{"action": "report"}`, instead of a note the app took for the report by
-- its place. The note a case was opened with becomes its report; a case that has none
-- (the demo's, made before) gets an empty one at the time it was opened.
UPDATE case_events SET step = json_set(step, '$.action', 'report')
 WHERE json_extract(step, '$.action') = 'note'
   AND id IN (SELECT MIN(id) FROM case_events GROUP BY case_id)
   AND at_ms = (SELECT opened_ms FROM cases WHERE cases.id = case_events.case_id);

INSERT INTO case_events (case_id, at_ms, actor, step, stage)
SELECT c.id, c.opened_ms, 'system:report', '{"action":"report","note":""}', 'reported'
  FROM cases c
 WHERE NOT EXISTS (SELECT 1 FROM case_events e
                    WHERE e.case_id = c.id AND json_extract(e.step, '$.action') = 'report');
