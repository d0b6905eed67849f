-- A listing run that found nothing to do keeps its memo in unchanged_scans too (the fingerprint
-- holds both sides: src/plan/settled-run.ts), and with it the estimated length of each folder's
-- STAT reply, taken from its listing, so that the next run can start listing as soon as it has
-- logged in, before its local scan is done. JSON: [[folder, chars], ...]. NULL for a trusted
-- run's memo and on servers with MLSD.
ALTER TABLE unchanged_scans ADD COLUMN stat_estimates TEXT;
