-- Move a staged page of System Log events into log_events; uuid de-duplicates re-read pages.
INSERT INTO log_events (uuid, published, event_type, severity, display_message, actor_id,
                        actor_alternate_id, client_ip, outcome_result, outcome_reason,
                        transaction_id, raw)
SELECT uuid, published, event_type, severity, display_message, actor_id,
       actor_alternate_id, client_ip, outcome_result, outcome_reason,
       transaction_id, raw
FROM _stage_log_events
ON CONFLICT (uuid) DO NOTHING
