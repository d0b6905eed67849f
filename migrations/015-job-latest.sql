-- Each job's last finished real run and last success, kept up to date by triggers on `runs`
-- (src/state/runs.ts latestByJob): `status`, /readyz and /metrics read one row per job here
-- instead of seeking three B-trees of a history of millions of runs per job (a fresh `status`
-- process paid ~70 ms of page reads for 500 jobs with 30 days of minute runs).
--
-- A row is a copy of the run (same column names as `runs`, `id` being the run's id) plus the
-- job's last success. Runs are only ever added, finished, or pruned; the pruner never deletes
-- these two runs of a job, and a deletion of one of them rebuilds the job's row anyway.
CREATE TABLE job_latest (
  job             TEXT PRIMARY KEY,
  id              INTEGER NOT NULL,
  trigger         TEXT    NOT NULL,
  started_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  status          TEXT    NOT NULL,
  dry_run         INTEGER NOT NULL,
  uploaded        INTEGER NOT NULL,
  downloaded      INTEGER NOT NULL,
  deleted_local   INTEGER NOT NULL,
  deleted_remote  INTEGER NOT NULL,
  conflicts       INTEGER NOT NULL,
  failed          INTEGER NOT NULL,
  bytes           INTEGER NOT NULL,
  error           TEXT,
  pid             INTEGER,
  last_success_id INTEGER,
  last_success_at INTEGER
) WITHOUT ROWID;

-- The rows of the history there is already: one index seek per job (jobs found by skipping
-- through runs_job_newest), not a scan.
WITH RECURSIVE jobs(job) AS (
  SELECT (SELECT job FROM runs INDEXED BY runs_job_newest ORDER BY job LIMIT 1)
  UNION ALL
  SELECT (SELECT job FROM runs INDEXED BY runs_job_newest WHERE job > jobs.job ORDER BY job LIMIT 1) FROM jobs WHERE jobs.job IS NOT NULL
)
INSERT INTO job_latest
SELECT r.job, r.id, r.trigger, r.started_at, r.ended_at, r.status, r.dry_run, r.uploaded, r.downloaded, r.deleted_local,
  r.deleted_remote, r.conflicts, r.failed, r.bytes, r.error, r.pid, s.id, s.ended_at
FROM jobs
JOIN runs r ON r.id = (SELECT f.id FROM runs f INDEXED BY runs_job_real
  WHERE f.job = jobs.job AND f.dry_run = 0 AND f.status <> 'running' ORDER BY f.id DESC LIMIT 1)
LEFT JOIN runs s ON s.id = (SELECT o.id FROM runs o INDEXED BY runs_job_ok
  WHERE o.job = jobs.job AND o.status = 'ok' AND o.dry_run = 0 ORDER BY o.id DESC LIMIT 1)
WHERE jobs.job IS NOT NULL;

-- A real run that has ended (inserted so, or finished by an update) becomes its job's latest,
-- unless a newer one already is; an ok one its last success too.
CREATE TRIGGER job_latest_on_insert AFTER INSERT ON runs
WHEN NEW.dry_run = 0 AND NEW.status <> 'running'
BEGIN
  INSERT INTO job_latest (job, id, trigger, started_at, ended_at, status, dry_run, uploaded, downloaded, deleted_local,
    deleted_remote, conflicts, failed, bytes, error, pid)
  VALUES (NEW.job, NEW.id, NEW.trigger, NEW.started_at, NEW.ended_at, NEW.status, NEW.dry_run, NEW.uploaded, NEW.downloaded,
    NEW.deleted_local, NEW.deleted_remote, NEW.conflicts, NEW.failed, NEW.bytes, NEW.error, NEW.pid)
  ON CONFLICT (job) DO UPDATE SET id = excluded.id, trigger = excluded.trigger, started_at = excluded.started_at,
    ended_at = excluded.ended_at, status = excluded.status, dry_run = excluded.dry_run, uploaded = excluded.uploaded,
    downloaded = excluded.downloaded, deleted_local = excluded.deleted_local, deleted_remote = excluded.deleted_remote,
    conflicts = excluded.conflicts, failed = excluded.failed, bytes = excluded.bytes, error = excluded.error, pid = excluded.pid
  WHERE excluded.id >= job_latest.id;
  UPDATE job_latest SET last_success_id = NEW.id, last_success_at = NEW.ended_at
  WHERE job = NEW.job AND NEW.status = 'ok' AND COALESCE(last_success_id, 0) <= NEW.id;
END;

CREATE TRIGGER job_latest_on_update AFTER UPDATE ON runs
WHEN NEW.dry_run = 0 AND NEW.status <> 'running'
BEGIN
  INSERT INTO job_latest (job, id, trigger, started_at, ended_at, status, dry_run, uploaded, downloaded, deleted_local,
    deleted_remote, conflicts, failed, bytes, error, pid)
  VALUES (NEW.job, NEW.id, NEW.trigger, NEW.started_at, NEW.ended_at, NEW.status, NEW.dry_run, NEW.uploaded, NEW.downloaded,
    NEW.deleted_local, NEW.deleted_remote, NEW.conflicts, NEW.failed, NEW.bytes, NEW.error, NEW.pid)
  ON CONFLICT (job) DO UPDATE SET id = excluded.id, trigger = excluded.trigger, started_at = excluded.started_at,
    ended_at = excluded.ended_at, status = excluded.status, dry_run = excluded.dry_run, uploaded = excluded.uploaded,
    downloaded = excluded.downloaded, deleted_local = excluded.deleted_local, deleted_remote = excluded.deleted_remote,
    conflicts = excluded.conflicts, failed = excluded.failed, bytes = excluded.bytes, error = excluded.error, pid = excluded.pid
  WHERE excluded.id >= job_latest.id;
  UPDATE job_latest SET last_success_id = NEW.id, last_success_at = NEW.ended_at
  WHERE job = NEW.job AND NEW.status = 'ok' AND COALESCE(last_success_id, 0) <= NEW.id;
END;

-- Deleting a run a row copies (not something the pruner does): the job's row is rebuilt from
-- what is left, or goes.
CREATE TRIGGER job_latest_on_delete AFTER DELETE ON runs
WHEN EXISTS (SELECT 1 FROM job_latest WHERE job = OLD.job AND (id = OLD.id OR last_success_id = OLD.id))
BEGIN
  DELETE FROM job_latest WHERE job = OLD.job;
  INSERT INTO job_latest
  SELECT r.job, r.id, r.trigger, r.started_at, r.ended_at, r.status, r.dry_run, r.uploaded, r.downloaded, r.deleted_local,
    r.deleted_remote, r.conflicts, r.failed, r.bytes, r.error, r.pid, s.id, s.ended_at
  FROM runs r
  LEFT JOIN runs s ON s.id = (SELECT o.id FROM runs o INDEXED BY runs_job_ok
    WHERE o.job = OLD.job AND o.status = 'ok' AND o.dry_run = 0 ORDER BY o.id DESC LIMIT 1)
  WHERE r.id = (SELECT f.id FROM runs f INDEXED BY runs_job_real
    WHERE f.job = OLD.job AND f.dry_run = 0 AND f.status <> 'running' ORDER BY f.id DESC LIMIT 1);
END;
