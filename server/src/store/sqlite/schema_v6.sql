-- Coverage for a year counts who was covered at the end of that year
-- (DESIGN.md, "Coverage"; engine::coverage_key says who and since when).

-- The earliest `participants import --as-of` date (YYYY-MM-DD) that
-- listed the person. NULL for a participant imported before this column:
-- the roll did not say since when, so they count for every year.
ALTER TABLE persons ADD COLUMN roll_as_of TEXT;

-- Covered persons per area (RT up to province), category and the year
-- their coverage started (0: undated roll rows, counted for every year).
-- Coverage for year Y sums the buckets with since_year <= Y: a handful
-- of years per area, so reading stays as cheap as before. The rows are
-- recounted from the persons by the hook that runs with this migration
-- (sqlite/counters.rs): whom the old counters held is not the new rule.
DROP TABLE counters;
CREATE TABLE counters (
    area TEXT NOT NULL,
    category TEXT NOT NULL,
    since_year INTEGER NOT NULL,
    covered INTEGER NOT NULL,
    PRIMARY KEY (area, category, since_year)
) WITHOUT ROWID;
