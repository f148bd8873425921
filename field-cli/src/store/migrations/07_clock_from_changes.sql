-- The clock resumes from the newest change (every timestamp kept is a
-- change's): the copy in config cost every write a second page.
DELETE FROM config WHERE key = 'hlc_last';
