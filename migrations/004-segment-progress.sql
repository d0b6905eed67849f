-- A segmented download (several ranges at once into one temporary file) resumes after a crash:
-- for each range, the offset up to which its bytes were flushed to disk, and where it ends.
-- JSON: [[flushedUpTo, end], ...]. NULL for every other transfer.
ALTER TABLE partials ADD COLUMN ranges TEXT;
