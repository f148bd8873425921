-- Covered counts in stripes: each write transaction adds to the rows of
-- its own stripe, so concurrent pushes in one area no longer wait for
-- each other's commit on the shared rows (the city's, a kecamatan's).
-- A count is the sum of its stripes; every row already held is stripe 0.
ALTER TABLE counters ADD COLUMN stripe SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE counters DROP CONSTRAINT counters_pkey;
ALTER TABLE counters ADD PRIMARY KEY (area, category, since_year, stripe);
