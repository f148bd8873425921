-- Supervisors' history and agent activity (issue 13).

-- One row per area (kelurahan and above) and day: the figures at the
-- latest take that day (sqlite/history.rs says when takes happen). Past
-- days are backfilled from the persons' start dates when the table is
-- first created.
CREATE TABLE coverage_history (
    area TEXT NOT NULL,
    day TEXT NOT NULL,              -- YYYY-MM-DD, UTC
    pu INTEGER NOT NULL,
    bpu INTEGER NOT NULL,
    jakon INTEGER NOT NULL,
    pmi INTEGER NOT NULL,
    working_population INTEGER,     -- NULL: no baseline for the day's year
    target_bp INTEGER,
    target_count INTEGER,
    taken_at INTEGER NOT NULL,      -- Unix milliseconds; 0 for a backfill
    PRIMARY KEY (area, day)
) WITHOUT ROWID;

-- The field kit's RT visits, synced once each by their device-made id.
CREATE TABLE visits (
    id BLOB PRIMARY KEY,
    device_id BLOB NOT NULL,
    agent TEXT NOT NULL,            -- token name
    kelurahan TEXT NOT NULL,
    rw INTEGER NOT NULL,
    rt INTEGER NOT NULL,
    households INTEGER NOT NULL,
    note TEXT,
    visited_at INTEGER NOT NULL,    -- Unix milliseconds, the device's clock
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visits_kelurahan ON visits(kelurahan, visited_at);

-- Refusals the change log does not keep (a change refused before it took
-- a place in its device's log), counted per agent and day.
CREATE TABLE unlogged_rejections (
    agent TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (agent, day)
) WITHOUT ROWID;

-- When each device last pushed, and how many changes it said it still
-- had queued then.
ALTER TABLE devices ADD COLUMN last_push_at INTEGER;
ALTER TABLE devices ADD COLUMN pending INTEGER;

CREATE INDEX changes_received ON changes(received_at);
