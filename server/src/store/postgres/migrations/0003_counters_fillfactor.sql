-- Room in every page of the counters for a row's next version. A push
-- adds to thousands of counter rows (every RT it touches, and each level
-- above), and the next push of the area adds to the same rows: with full
-- pages each update put its version on another page and a new entry in
-- the key's index, and the upsert of a page of 10,000 registrations grew
-- from 63 ms to 134 ms over ten pushes; with half of each page free the
-- update stays on its page (a HOT update, no index entry) and took a
-- steady 57 ms (BENCHMARKS.md, session 20). Pages written before keep
-- their layout until rows move.
ALTER TABLE counters SET (fillfactor = 50);
