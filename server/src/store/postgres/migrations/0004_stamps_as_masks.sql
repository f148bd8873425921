-- From this version on, a person's stored record may write its stamps'
-- fields as a bit mask (`{"<hlc>": 8191}`, sigap_shared::merge::Field::bit)
-- rather than a list of names (see the SQLite schema_v12.sql). This build
-- reads both forms, so rows written before stay as they are; the version
-- is raised so that an older sigap-server refuses the database rather
-- than failing on its first rewritten person.
COMMENT ON COLUMN persons.record IS
    'sigap_shared::merge::PersonRecord as JSON; stamps grouped by timestamp, fields as names or a bit mask (Field::bit)';
