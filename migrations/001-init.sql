-- Initial schema. Applied in one transaction by src/state/migrate.ts.

-- What each side of a synced path looked like when the job last synced it.
CREATE TABLE entries (
  job               TEXT    NOT NULL,
  path              TEXT    NOT NULL,  -- relative, "/"-separated, NFC
  type              TEXT    NOT NULL CHECK (type IN ('file', 'dir')),
  local_size        INTEGER NOT NULL,
  local_mtime_ms    INTEGER NOT NULL,
  remote_size       INTEGER NOT NULL,
  remote_modify_ms  INTEGER,           -- as the server reported it
  remote_precision  TEXT    NOT NULL,  -- ms | second | minute | day | none | pending
  placed_remote     INTEGER NOT NULL DEFAULT 0,
  placed_local      INTEGER NOT NULL DEFAULT 0,
  synced_at         INTEGER NOT NULL,
  PRIMARY KEY (job, path)
) WITHOUT ROWID;

-- One row per run of a job.
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  job             TEXT    NOT NULL,
  trigger         TEXT    NOT NULL,
  started_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  status          TEXT    NOT NULL,  -- running | ok | failed | aborted | interrupted
  dry_run         INTEGER NOT NULL DEFAULT 0,
  uploaded        INTEGER NOT NULL DEFAULT 0,
  downloaded      INTEGER NOT NULL DEFAULT 0,
  deleted_local   INTEGER NOT NULL DEFAULT 0,
  deleted_remote  INTEGER NOT NULL DEFAULT 0,
  conflicts       INTEGER NOT NULL DEFAULT 0,
  failed          INTEGER NOT NULL DEFAULT 0,
  bytes           INTEGER NOT NULL DEFAULT 0,
  error           TEXT,
  pid             INTEGER
);
CREATE INDEX runs_by_job ON runs (job, started_at);

-- Server capabilities found by the FEAT probe, per configured remote.
CREATE TABLE remote_capabilities (
  remote       TEXT PRIMARY KEY,
  host         TEXT    NOT NULL,
  port         INTEGER NOT NULL,
  features     TEXT    NOT NULL,  -- JSON object of FEAT lines
  tls_version  TEXT,
  cipher       TEXT,
  fingerprint  TEXT,
  probed_at    INTEGER NOT NULL
);

-- Transfers to temporary names that have not been renamed into place yet,
-- so that the next run can resume them or clean them up.
CREATE TABLE partials (
  job           TEXT    NOT NULL,
  path          TEXT    NOT NULL,
  direction     TEXT    NOT NULL CHECK (direction IN ('upload', 'download')),
  temp_path     TEXT    NOT NULL,
  source_size   INTEGER NOT NULL,
  source_mtime  INTEGER,
  started_at    INTEGER NOT NULL,
  PRIMARY KEY (job, path, direction)
) WITHOUT ROWID;
