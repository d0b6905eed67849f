-- Agent daemon: durable run queue, per-job locks, and the agents that are running.

-- Runs requested but not started. One row per job: triggers that arrive while a run is
-- pending fold into it (one more run covers them all). A run in progress is a job_locks row.
CREATE TABLE run_queue (
  job           TEXT    PRIMARY KEY,
  triggers      TEXT    NOT NULL,  -- comma-separated, e.g. "watch,schedule"
  requested_at  INTEGER NOT NULL,  -- first request folded into this row
  updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- Whoever runs a job holds its lock: the daemon and `ftps-sync sync` alike, across processes.
-- A lock whose pid is no longer alive is stale and taken over.
CREATE TABLE job_locks (
  job          TEXT    PRIMARY KEY,
  pid          INTEGER NOT NULL,
  acquired_at  INTEGER NOT NULL,
  trigger      TEXT
) WITHOUT ROWID;

-- `ftps-sync run` processes, for `status`: pid, start time and a heartbeat.
CREATE TABLE agents (
  pid           INTEGER PRIMARY KEY,
  host          TEXT    NOT NULL,
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL
);
