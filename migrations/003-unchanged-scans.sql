-- Trusted upload runs over an unchanged tree skip loading the state (100 000 rows: about 0.3 s).
--
-- entry_generations: a per-job counter that every write to entries bumps (triggers, so that no
-- writer can forget it). Equal generations mean the job's state rows are exactly as they were.
-- Any later migration that rewrites entries must bump it, or clear unchanged_scans. (No INSERT OR
-- IGNORE here: inside a trigger, the conflict handling of the statement that fired it wins.)
CREATE TABLE entry_generations (
  job         TEXT    PRIMARY KEY,
  generation  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER entries_insert_generation AFTER INSERT ON entries BEGIN
  INSERT INTO entry_generations (job, generation) SELECT NEW.job, 0 WHERE NOT EXISTS (SELECT 1 FROM entry_generations WHERE job = NEW.job);
  UPDATE entry_generations SET generation = generation + 1 WHERE job = NEW.job;
END;

CREATE TRIGGER entries_update_generation AFTER UPDATE ON entries BEGIN
  INSERT INTO entry_generations (job, generation) SELECT NEW.job, 0 WHERE NOT EXISTS (SELECT 1 FROM entry_generations WHERE job = NEW.job);
  UPDATE entry_generations SET generation = generation + 1 WHERE job = NEW.job OR job = OLD.job;
END;

CREATE TRIGGER entries_delete_generation AFTER DELETE ON entries BEGIN
  INSERT INTO entry_generations (job, generation) SELECT OLD.job, 0 WHERE NOT EXISTS (SELECT 1 FROM entry_generations WHERE job = OLD.job);
  UPDATE entry_generations SET generation = generation + 1 WHERE job = OLD.job;
END;

-- The last local scan of a trusted run that matched the state row for row, as a fingerprint,
-- with the generation of the state it matched. The same fingerprint at the same generation
-- means the same match: nothing to do.
CREATE TABLE unchanged_scans (
  job          TEXT    PRIMARY KEY,
  generation   INTEGER NOT NULL,
  fingerprint  TEXT    NOT NULL
) WITHOUT ROWID;
