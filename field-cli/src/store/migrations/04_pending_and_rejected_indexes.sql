-- Only pending and rejected changes are looked up by state; an answered
-- change now leaves the pending index instead of moving within one
-- index of every change.
DROP INDEX changes_state;
CREATE INDEX changes_pending ON changes(device_seq) WHERE state = 'pending';
CREATE INDEX changes_rejected ON changes(device_seq) WHERE state = 'rejected';
