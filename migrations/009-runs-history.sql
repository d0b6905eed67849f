-- Bounded run history (src/state/runs.ts, src/agent/history-pruner.ts). Hundreds of jobs run
-- every minute add hundreds of thousands of rows a day: every question asked of `runs` must be
-- answered through an index, never by sorting a job's history.

-- A job's runs, newest first: `history JOB`, the count pruning (its N-th newest run).
-- The index holds (job, id), so "WHERE job = ? ORDER BY id DESC LIMIT n" reads n entries.
CREATE INDEX runs_job_newest ON runs (job, id);

-- A job's real runs (not plans), newest first: the last run `status` and /readyz judge a job by.
CREATE INDEX runs_job_real ON runs (job, id) WHERE dry_run = 0;

-- A job's last success (`status`, /readyz, the last-success gauge of /metrics): one seek.
CREATE INDEX runs_job_ok ON runs (job, id) WHERE status = 'ok' AND dry_run = 0;

-- Runs still marked running (few): the start-up recovery looks only at these.
CREATE INDEX runs_running ON runs (job) WHERE status = 'running';

-- Age pruning reads the oldest runs first.
CREATE INDEX runs_started ON runs (started_at);

-- Superseded by runs_job_newest (no query orders a job's runs by started_at).
DROP INDEX runs_by_job;
