-- Schemas created before raw became json (see 010_log_events.sql): convert once.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'log_events'
                 AND column_name = 'raw' AND data_type = 'jsonb') THEN
        ALTER TABLE log_events ALTER COLUMN raw TYPE json USING raw::json;
    END IF;
END
$$;
