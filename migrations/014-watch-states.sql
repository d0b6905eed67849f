-- How the agent watches each watched job's folder, for `status` and /readyz (another process):
-- one watch per folder, or polling because the system's inotify watches ran out. Written by the
-- agent (pid) when the watch starts or falls back; rows of agents that are gone are ignored.
CREATE TABLE watch_states (
  job         TEXT    PRIMARY KEY,
  pid         INTEGER NOT NULL,
  mode        TEXT    NOT NULL,  -- "watching" or "polling"
  watches     INTEGER NOT NULL,  -- folders watched (0 when polling)
  poll_ms     INTEGER,           -- polling: the interval
  reason      TEXT,              -- polling: why, and the setting to raise
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
