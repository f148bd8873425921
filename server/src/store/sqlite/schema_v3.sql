-- Nothing reads these (coverage comes from the counters, the feed from
-- `kelurahan`), and every write paid for them.
ALTER TABLE persons DROP COLUMN cov_area;
ALTER TABLE persons DROP COLUMN category;
