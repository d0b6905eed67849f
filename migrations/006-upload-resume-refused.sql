-- A server that refused to resume an upload (APPE): ProFTPD's default AllowStoreRestart off
-- answers it with 451 and resets the data connection. Remembered so that later runs send an
-- interrupted upload whole at once instead of trying, and failing, to resume it. Epoch ms; NULL
-- when never seen. Kept when the capabilities are probed again, cleared when host or port change.
ALTER TABLE remote_capabilities ADD COLUMN upload_resume_refused_at INTEGER;
