-- afterTransfer (a one-way job's "delete" or "archive"): 1 when the job removed or moved the source
-- file after its copy at the destination was verified and recorded. A row with the source gone and
-- this set is not a deletion on the source: the next run neither deletes the destination copy nor
-- sends the file again. Written with the row of the transfer, before the source is touched.
ALTER TABLE entries ADD COLUMN source_taken INTEGER NOT NULL DEFAULT 0;
