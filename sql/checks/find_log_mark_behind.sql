-- Compare the System Log mark with the newest stored event: the mark is written with its rows, so
-- an event newer than the mark means rows were stored without it. Read-only.
SELECT (SELECT max(published) FROM log_events)                    AS newest_event,
       (SELECT mark FROM ingest_marks WHERE stream = 'log_events') AS mark,
       (SELECT count(*) FROM log_events e
         WHERE e.published > coalesce((SELECT mark FROM ingest_marks WHERE stream = 'log_events'),
                                      '-infinity'))               AS events_after_mark
