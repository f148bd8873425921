-- An admin can erase a person's personal data on the server. The feed
-- says when (`erased_at`), and this device then overwrites its own copy
-- of the person (see store/erasure.rs); the replica keeps the date for
-- `sigap show`. Persons pulled before carry no date, and an erasure
-- made before this version was never applied here, so the pull cursor
-- starts again: the next `sigap sync` pulls the areas afresh.
ALTER TABLE replica ADD COLUMN erased_at INTEGER;
DELETE FROM config WHERE key = 'pull_cursor';
