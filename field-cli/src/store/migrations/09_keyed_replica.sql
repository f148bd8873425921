-- Protocol 3. The replica was keyed by an unkeyed hash of each NIK,
-- which anyone holding the file could reverse by trying every NIK. The
-- server now keys the hashes with a secret of the deployment that the
-- device fetches at its next sync: the old rows could never be found
-- again, so they go, and the next `sigap sync` pulls the areas afresh.
DELETE FROM replica;
DELETE FROM config WHERE key IN ('pull_cursor', 'last_pull_at');
