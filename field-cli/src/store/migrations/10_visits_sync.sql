-- Visits sync to the server. Each gets a UUIDv7 (`uid`, given to older
-- rows by the next `sigap sync` before it sends them) and is marked
-- `synced` only once the server answered for it; one the server refused
-- keeps its reason in `refused` and is not sent again.
ALTER TABLE visits ADD COLUMN uid TEXT;
ALTER TABLE visits ADD COLUMN synced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN refused TEXT;
CREATE INDEX visits_unsynced ON visits(id) WHERE synced = 0 AND refused IS NULL;
