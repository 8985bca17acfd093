-- Keyhole schema, version 4 (sqlite): which gateway process serves each terminal session.
-- Every process registers itself in `replicas` and refreshes `last_seen` while it runs; a
-- session whose process stopped refreshing (killed, crashed) is closed as `gateway_lost` by
-- the next process that starts or by any live replica. Times are Unix seconds.

CREATE TABLE replicas (
    id          TEXT PRIMARY KEY NOT NULL,
    started_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);

-- NULL for rows written before this version (treated as lost once no process owns them).
ALTER TABLE terminal_sessions ADD COLUMN replica TEXT;
CREATE INDEX terminal_sessions_open ON terminal_sessions (ended_at, replica);
