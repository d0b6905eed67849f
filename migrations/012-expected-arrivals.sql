-- Expected arrivals (a job's "expect"): when a file matching its pattern last arrived, and the
-- deadline (epoch ms) whose "late" event was fired, NULL when the job is not late. A conditional
-- update of late_since decides which process fires an event (the agent, or a `sync` beside it).
CREATE TABLE expected_arrivals (
  job TEXT PRIMARY KEY,
  last_arrival_at INTEGER,
  last_arrival_path TEXT,
  late_since INTEGER
);
