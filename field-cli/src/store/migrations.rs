//! The database's schema, one file per step in `migrations/`, applied in
//! order by `rusqlite_migration` (the step count is SQLite's
//! `user_version`). A step is never edited once released: a change to the
//! schema is a new file.

use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

pub(super) const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("migrations/01_initial.sql")),
    M::up(include_str!("migrations/02_replica_by_lookup_hash.sql")),
    M::up(include_str!("migrations/03_compact_replica.sql")),
    M::up(include_str!(
        "migrations/04_pending_and_rejected_indexes.sql"
    )),
    M::up(include_str!("migrations/05_changes_state_check.sql")),
    M::up(include_str!("migrations/06_records_point_at_changes.sql")),
    M::up(include_str!("migrations/07_clock_from_changes.sql")),
    M::up(include_str!("migrations/08_protocol_2.sql")),
    M::up(include_str!("migrations/09_keyed_replica.sql")),
    M::up(include_str!("migrations/10_visits_sync.sql")),
    M::up(include_str!("migrations/11_erased_persons.sql")),
    M::up(include_str!("migrations/12_replica_appended.sql")),
    M::up(include_str!("migrations/13_replica_keys.sql")),
    M::up(include_str!("migrations/14_answered_index.sql")),
];

/// Brings the schema of `conn` up to date.
///
/// Foreign keys are enforced on an open store, but not while the schema
/// changes: a migration that rebuilds a table copies rows whose
/// references point forwards (SQLite's own procedure for altering a
/// table); the check after it says whether all of them hold.
pub(super) fn bring_up_to_date(conn: &mut Connection) -> Result<(), String> {
    let before: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    // Up to date (every command but the first after an upgrade): no
    // migration to look at.
    let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if before == latest {
        return Ok(());
    }
    Migrations::from_slice(MIGRATIONS)
        .to_latest(conn)
        .map_err(|e| e.to_string())?;
    // Checked only after migrations: the check reads every row.
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()
        .map_err(|e| e.to_string())?;
    match broken {
        Some(table) => Err(crate::i18n::t!("store-broken-references", table = table)),
        None => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::store::{Store, key, outbox, records, replica};
    use sigap_shared::HlcClock;
    use std::path::PathBuf;
    use uuid::Uuid;

    /// A database as the first `n` migrations left it, for upgrade tests.
    pub(crate) fn db_at(n: usize) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap();
        Migrations::from_slice(&MIGRATIONS[..n])
            .to_latest(&mut conn)
            .unwrap();
        (dir, path, conn)
    }

    use crate::store::tests::budi;

    /// The replica key of these tests' deployment.
    pub(crate) const KEY: sigap_shared::ReplicaKey = sigap_shared::ReplicaKey::from_bytes([5; 32]);

    /// The database at `path` brought up to migration `n` (before the
    /// keyed replica emptied the replica), with the test key kept, and
    /// the replica's columns of later steps that this code reads
    /// (migration 11's `erased_at`) added empty.
    fn upgrade_to(path: &std::path::Path, n: usize) -> Connection {
        let mut conn = Connection::open(path).unwrap();
        Migrations::from_slice(&MIGRATIONS[..n])
            .to_latest(&mut conn)
            .unwrap();
        crate::store::set(&conn, key::REPLICA_KEY, &KEY.to_hex()).unwrap();
        if n < 11 {
            conn.execute_batch("ALTER TABLE replica ADD COLUMN erased_at INTEGER")
                .unwrap();
        }
        // The replica as this code reads it (migration 12 moves its rows).
        conn.execute_batch(include_str!("migrations/12_replica_appended.sql"))
            .unwrap();
        conn.execute_batch(include_str!("migrations/13_replica_keys.sql"))
            .unwrap();
        conn
    }

    #[test]
    fn changes_survive_the_rebuild_with_their_forward_references() {
        let (_dir, path, conn) = db_at(4);
        // Change 1 was rejected and corrected by change 2.
        conn.execute_batch(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, state, created_at)
             VALUES (1, 'a', '3372011203850001', 'h1', 'register', '{}', 'rejected', 't'),
                    (2, 'b', '3372011203850001', 'h2', 'edit', '{}', 'pending', 't');
             UPDATE changes SET superseded_by = 2 WHERE device_seq = 1;",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        let rows: Vec<(i64, String, Option<i64>)> = store
            .conn
            .prepare("SELECT device_seq, state, superseded_by FROM changes ORDER BY device_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "rejected".to_string(), Some(2)),
                (2, "pending".to_string(), None)
            ]
        );
        // The reference follows the rename and is enforced again.
        let bad = store.conn.execute(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, superseded_by, created_at)
             VALUES (3, 'c', '3372011203850001', 'h3', 'edit', '{}', 99, 't')",
            [],
        );
        assert!(bad.is_err());
        let bad_state = store.conn.execute(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, state, created_at)
             VALUES (4, 'd', '3372011203850001', 'h4', 'edit', '{}', 'lost', 't')",
            [],
        );
        assert!(bad_state.is_err());
    }

    #[test]
    fn replica_rows_survive_the_move_to_the_compact_table() {
        let nik = sigap_shared::Nik::parse("3372011203850001").unwrap();
        let person = sigap_shared::wire::PersonState {
            participant: true,
            registered_by: Some("budi".into()),
            registered_at: Some(1_764_000_000_000),
            seq: 9,
            ..sigap_shared::wire::PersonState::masked(
                &KEY,
                &nik,
                &sigap_shared::Fields {
                    name: Some("Budi Santoso".into()),
                    kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1001").unwrap()),
                    rw: Some(3),
                    rt: Some(5),
                    category: Some(sigap_shared::Category::Bpu),
                    status: Some(sigap_shared::Status::Registered),
                    ..Default::default()
                },
            )
        };
        // The replica as migration 2 left it: a JSON copy beside columns.
        let (_dir, path, conn) = db_at(2);
        conn.execute(
            "INSERT INTO replica(nik_hash, state, participant, registered_by, registered_at,
                name_masked, kelurahan, rw, rt, category, status, seq)
             VALUES (?1, ?2, 1, 'budi', 1764000000000, ?3, '33.72.01.1001', 3, 5, 'bpu',
                'registered', 9)",
            rusqlite::params![
                person.nik_hash,
                serde_json::to_string(&person).unwrap(),
                person.name_masked
            ],
        )
        .unwrap();
        drop(conn);
        let conn = upgrade_to(&path, 8);
        assert_eq!(replica::get(&conn, &nik).unwrap(), Some(person));
    }

    #[test]
    fn records_and_changes_survive_the_move_to_shared_fields() {
        let (nik, fields) = budi();
        let mut clock = HlcClock::new(Uuid::now_v7());
        let mut record = sigap_shared::PersonRecord::from_write(nik.clone(), &fields, clock.now());
        let edit = sigap_shared::Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        record.apply(&edit, clock.now());
        let (_dir, path, conn) = db_at(5);
        conn.execute(
            "INSERT INTO records(nik, fields, stamps, warnings, name, kelurahan, rw, rt, category,
                status, created_at, updated_at)
             VALUES (?1, ?2, ?3, '[]', 'Budi Santoso', '33.72.01.1001', 3, 5, 'bpu',
                'registered', 't1', 't2')",
            rusqlite::params![
                nik.as_str(),
                serde_json::to_string(&record.fields).unwrap(),
                serde_json::to_string(&record.stamps).unwrap()
            ],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, state, created_at)
             VALUES (1, 'a', '3372011203850001', 'h1', 'register', '{}', 'acked', 't1'),
                    (2, 'b', '3372011203850001', 'h2', 'edit', '{}', 'pending', 't2');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        let read = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(read.record, record);
        assert_eq!((read.pending, read.created_at.as_str()), (1, "t1"));
        assert_eq!(outbox::history(&store.conn, &nik).unwrap().len(), 2);
        // A record holds either its own fields or a change's, never neither.
        let bad = store.conn.execute(
            "INSERT INTO records(nik, created_at, updated_at) VALUES ('3372011203850002', 't', 't')",
            [],
        );
        assert!(bad.is_err());
    }

    #[test]
    fn the_replica_keeps_void_details_and_pulls_again_after_the_upgrade() {
        let (nik, mut fields) = budi();
        // A replica row and cursor as migration 7 left them.
        let (_dir, path, conn) = db_at(7);
        let before = sigap_shared::wire::PersonState {
            registered_by: Some("rina".into()),
            registered_at: Some(1_764_000_000_000),
            seq: 9,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        conn.execute(
            "INSERT INTO replica(nik_hash, nik_masked, name_masked, participant, registered_by,
                registered_at, kelurahan, rw, rt, category, status, seq)
             VALUES (?1, ?2, ?3, 0, 'rina', 1764000000000, '33.72.01.1001', 3, 5, 'bpu',
                'registered', 9)",
            rusqlite::params![before.nik_hash, before.nik_masked, before.name_masked],
        )
        .unwrap();
        conn.execute("INSERT INTO config VALUES ('pull_cursor', '9')", [])
            .unwrap();
        drop(conn);
        let conn = upgrade_to(&path, 8);
        // Kept (lookups still answer), but pulled again to learn the rest.
        assert_eq!(replica::get(&conn, &nik).unwrap(), Some(before));
        assert_eq!(
            crate::store::config::get(&conn, key::PULL_CURSOR).unwrap(),
            None
        );

        fields.status = Some(sigap_shared::Status::Void);
        fields.void_reason = Some("moved to Jakarta".into());
        let voided = sigap_shared::wire::PersonState {
            registered_by: Some("rina".into()),
            registered_at: Some(1_764_000_000_000),
            voided_at: Some(1_764_100_000_000),
            last_changed_by: Some("supervisor sari".into()),
            seq: 12,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        replica::upsert(&conn, &voided).unwrap();
        let got = replica::get(&conn, &nik).unwrap().unwrap();
        assert_eq!(got, voided);
        assert!(!replica::blocks_registration(&got));
        assert_eq!(
            replica::describe(&got),
            "was registered by rina on 24 November 2025, then voided on 25 November 2025 (moved to Jakarta)"
        );
        // A participant stays one, whatever became of a field registration.
        let participant = sigap_shared::wire::PersonState {
            participant: true,
            ..voided
        };
        assert!(replica::blocks_registration(&participant));
        assert!(replica::describe(&participant).starts_with("is already a participant"));
    }

    #[test]
    fn the_replica_migration_empties_it_and_resets_the_pull_cursor() {
        // A database made before the masked feed: replica keyed by NIK.
        let (_dir, path, conn) = db_at(1);
        conn.execute_batch(
            "INSERT INTO replica(nik, state, participant, name, seq)
             VALUES ('3372011203850001', '{}', 0, 'Budi Santoso', 7);
             INSERT INTO config(key, value) VALUES ('pull_cursor', '7'),
                ('last_pull_at', '2026-11-25T16:31:07Z'), ('device_name', 'x');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        assert_eq!(replica::count(&store.conn).unwrap(), 0);
        assert_eq!(store.get(key::PULL_CURSOR).unwrap(), None);
        assert_eq!(store.get(key::LAST_PULL_AT).unwrap(), None);
        assert_eq!(store.get(key::DEVICE_NAME).unwrap().as_deref(), Some("x"));
        let old: i64 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('replica') WHERE name IN ('nik', 'name')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
    }

    #[test]
    fn the_replica_learns_erasures_and_pulls_again_after_the_upgrade() {
        let (nik, fields) = budi();
        // A replica row and cursor as migration 10 left them.
        let (_dir, path, conn) = db_at(10);
        crate::store::set(&conn, key::REPLICA_KEY, &KEY.to_hex()).unwrap();
        let before = sigap_shared::wire::PersonState {
            seq: 9,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        conn.execute(
            "INSERT INTO replica(nik_hash, nik_masked, name_masked, participant,
                kelurahan, rw, rt, category, status, seq)
             VALUES (?1, ?2, ?3, 0, '33.72.01.1001', 3, 5, 'bpu', 'registered', 9)",
            rusqlite::params![before.nik_hash, before.nik_masked, before.name_masked],
        )
        .unwrap();
        conn.execute("INSERT INTO config VALUES ('pull_cursor', '9')", [])
            .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        // Kept, not erased, and pulled again: an erasure made before
        // this version reaches the device at the next sync.
        assert_eq!(
            replica::get(&store.conn, &nik).unwrap(),
            Some(before.clone())
        );
        assert_eq!(store.get(key::PULL_CURSOR).unwrap(), None);
        let erased = sigap_shared::wire::PersonState {
            erased_at: Some(1_764_300_000_000),
            seq: 14,
            ..before
        };
        replica::upsert(&store.conn, &erased).unwrap();
        assert_eq!(replica::get(&store.conn, &nik).unwrap(), Some(erased));
    }

    #[test]
    fn the_unkeyed_replica_is_emptied_and_pulled_again_with_the_key() {
        let (nik, fields) = budi();
        // A replica as migration 8 left it: rows under the unkeyed hash.
        let (_dir, path, conn) = db_at(8);
        let unkeyed = "ab".repeat(32);
        conn.execute_batch(&format!(
            "INSERT INTO replica(nik_hash, nik_masked, participant, seq)
                 VALUES ('{unkeyed}', '3372**********01', 1, 9);
             INSERT INTO config(key, value) VALUES ('pull_cursor', '9'),
                ('last_pull_at', '2026-11-25T16:31:07Z'), ('device_name', 'x');"
        ))
        .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        assert_eq!(replica::count(&store.conn).unwrap(), 0);
        assert_eq!(store.get(key::PULL_CURSOR).unwrap(), None);
        assert_eq!(store.get(key::LAST_PULL_AT).unwrap(), None);
        assert_eq!(store.get(key::DEVICE_NAME).unwrap().as_deref(), Some("x"));
        // No key yet: nobody can be found, nothing fails.
        assert_eq!(replica::get(&store.conn, &nik).unwrap(), None);

        // The key arrives with the next sync; the pulled person is found.
        assert!(replica::set_key(&store.conn, &KEY).unwrap());
        let person = sigap_shared::wire::PersonState {
            seq: 3,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        replica::upsert(&store.conn, &person).unwrap();
        crate::store::set(&store.conn, key::PULL_CURSOR, "3").unwrap();
        assert_eq!(
            replica::get(&store.conn, &nik).unwrap(),
            Some(person.clone())
        );
        // The same key again changes nothing.
        assert!(!replica::set_key(&store.conn, &KEY).unwrap());
        assert_eq!(store.get(key::PULL_CURSOR).unwrap().as_deref(), Some("3"));
        // Another deployment's key: the rows could never be found again,
        // so they go and the pull starts over.
        let other = sigap_shared::ReplicaKey::from_bytes([6; 32]);
        assert!(replica::set_key(&store.conn, &other).unwrap());
        assert_eq!(replica::count(&store.conn).unwrap(), 0);
        assert_eq!(store.get(key::PULL_CURSOR).unwrap(), None);
    }

    #[test]
    fn replica_rows_keep_their_answers_in_the_appended_table() {
        let (nik, fields) = budi();
        // A replica row as migration 11 left it: keyed by the hex hash.
        let (_dir, path, conn) = db_at(11);
        crate::store::set(&conn, key::REPLICA_KEY, &KEY.to_hex()).unwrap();
        let before = sigap_shared::wire::PersonState {
            registered_by: Some("rina".into()),
            registered_at: Some(1_764_000_000_000),
            erased_at: Some(1_764_300_000_000),
            seq: 9,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        conn.execute(
            "INSERT INTO replica(nik_hash, nik_masked, name_masked, participant, registered_by,
                registered_at, kelurahan, rw, rt, category, status, seq, erased_at)
             VALUES (?1, ?2, ?3, 0, 'rina', 1764000000000, '33.72.01.1001', 3, 5, 'bpu',
                'registered', 9, 1764300000000)",
            rusqlite::params![before.nik_hash, before.nik_masked, before.name_masked],
        )
        .unwrap();
        conn.execute("INSERT INTO config VALUES ('pull_cursor', '9')", [])
            .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        assert_eq!(
            replica::get(&store.conn, &nik).unwrap(),
            Some(before.clone())
        );
        // The key SQL worked out is the one the code computes, and the
        // pull carries on from where it was.
        let stored: i64 = store
            .conn
            .query_row("SELECT hash_key FROM replica_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            stored,
            replica::StoredHash::parse(&before.nik_hash).unwrap().key
        );
        assert_eq!(store.get(key::PULL_CURSOR).unwrap().as_deref(), Some("9"));
        assert_eq!(replica::count(&store.conn).unwrap(), 1);
    }

    /// Writes `persons` into the replica as a pull writes one batch (one
    /// `append`, then the key pass) and commits it.
    fn write_batch(store: &Store, persons: &[sigap_shared::wire::PersonState]) {
        let batch: Vec<_> = persons
            .iter()
            .map(|p| (replica::StoredHash::parse(&p.nik_hash).unwrap(), p))
            .collect();
        let tx = store.conn.unchecked_transaction().unwrap();
        let mut unindexed = replica::Unindexed::default();
        replica::Writer::new(&tx, &mut unindexed)
            .unwrap()
            .append(&batch)
            .unwrap();
        replica::index(&tx, &mut unindexed).unwrap();
        tx.commit().unwrap();
    }

    /// Rows of the `replica` table itself (collisions aside).
    fn replica_rows(store: &Store) -> i64 {
        store
            .conn
            .query_row("SELECT COUNT(*) FROM replica", [], |r| r.get(0))
            .unwrap()
    }

    /// A new store, and Budi as the replica holds him (seq 1).
    fn store_and_budi() -> (tempfile::TempDir, Store, sigap_shared::wire::PersonState) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let (nik, fields) = budi();
        let base = sigap_shared::wire::PersonState {
            seq: 1,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        (dir, store, base)
    }

    #[test]
    fn replica_rows_of_migration_12_are_found_through_the_key_table() {
        let (nik, fields) = budi();
        let (_dir, path, conn) = db_at(12);
        crate::store::set(&conn, key::REPLICA_KEY, &KEY.to_hex()).unwrap();
        let budi = sigap_shared::wire::PersonState {
            registered_by: Some("rina".into()),
            seq: 7,
            ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
        };
        let hash = replica::StoredHash::parse(&budi.nik_hash).unwrap();
        // Two rows before Budi's, one of them deleted, so that his row
        // number is not his place in the table.
        for (n, masked) in [(1, "x1"), (2, "x2")] {
            conn.execute(
                "INSERT INTO replica(hash_key, nik_hash, nik_masked, participant, seq)
                 VALUES (?1, ?2, ?3, 1, ?1)",
                rusqlite::params![n, vec![n as u8; 32], masked],
            )
            .unwrap();
        }
        conn.execute("DELETE FROM replica WHERE hash_key = 1", [])
            .unwrap();
        conn.execute(
            "INSERT INTO replica(hash_key, nik_hash, nik_masked, name_masked, participant,
                registered_by, kelurahan, rw, rt, category, status, seq)
             VALUES (?1, ?2, ?3, ?4, 0, 'rina', '33.72.01.1001', 3, 5, 'bpu', 'registered', 7)",
            rusqlite::params![hash.key, &hash.bytes[..], budi.nik_masked, budi.name_masked],
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path, None).unwrap();
        assert_eq!(replica::get(&store.conn, &nik).unwrap(), Some(budi.clone()));
        assert_eq!(replica::count(&store.conn).unwrap(), 2);
        // Pulled again, the moved row is replaced, not doubled.
        let again = sigap_shared::wire::PersonState { seq: 8, ..budi };
        replica::upsert(&store.conn, &again).unwrap();
        assert_eq!(replica::get(&store.conn, &nik).unwrap(), Some(again));
        assert_eq!(replica::count(&store.conn).unwrap(), 2);
        assert_eq!(
            replica_rows(&store),
            2,
            "the replaced row is gone from the table"
        );
    }

    #[test]
    fn a_batch_keeps_the_last_write_of_each_person_and_both_of_a_collision() {
        let (_dir, store, base) = store_and_budi();
        let a = format!("0123456789abcde{}", "0".repeat(49));
        let b = format!("0123456789abcde{}", "1".repeat(49));
        let c = format!("fedcba9876543210{}", "2".repeat(48));
        let person = |hash: &str, seq: u64| sigap_shared::wire::PersonState {
            nik_hash: hash.to_string(),
            seq,
            ..base.clone()
        };
        // One batch, as a pull writes it: each of a, b and c twice, the
        // later write last; b collides with a.
        let order = [(&b, 1), (&a, 2), (&c, 3), (&a, 4), (&b, 5), (&c, 6)];
        let persons: Vec<_> = order.iter().map(|&(h, seq)| person(h, seq)).collect();
        write_batch(&store, &persons);
        for (hash, seq) in [(&a, 4), (&b, 5), (&c, 6)] {
            assert_eq!(
                replica::get_by_hash(&store.conn, hash.clone()).unwrap(),
                Some(person(hash, seq)),
                "{hash}"
            );
        }
        assert_eq!(replica::count(&store.conn).unwrap(), 3);
        // A second batch writes a again: still three, a replaced.
        replica::upsert(&store.conn, &person(&a, 7)).unwrap();
        assert_eq!(
            replica::get_by_hash(&store.conn, a.clone()).unwrap(),
            Some(person(&a, 7))
        );
        assert_eq!(replica::count(&store.conn).unwrap(), 3);
        let rows: i64 = store
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM replica) + (SELECT COUNT(*) FROM replica_collisions)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 3, "no row is left behind unindexed");
    }

    #[test]
    fn a_page_written_many_rows_a_statement_keeps_each_persons_last_write() {
        let (_dir, store, base) = store_and_budi();
        let person = |n: u64, seq: u64| sigap_shared::wire::PersonState {
            nik_hash: format!(
                "{:016x}{}",
                n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                "0".repeat(48)
            ),
            seq,
            ..base.clone()
        };
        // 101 writes: three statements of many rows and five of one. Each
        // of 50 persons is written twice, the later write in another
        // statement (or, for the last ones, in the single-row tail); the
        // 101st is a person of its own.
        let mut persons: Vec<_> = (0..50).map(|n| person(n, 1)).collect();
        persons.extend((0..50).map(|n| person(n, 2)));
        persons.push(person(50, 1));
        write_batch(&store, &persons);
        assert_eq!(replica::count(&store.conn).unwrap(), 51);
        for n in 0..=50 {
            let want = person(n, if n < 50 { 2 } else { 1 });
            assert_eq!(
                replica::get_by_hash(&store.conn, want.nik_hash.clone()).unwrap(),
                Some(want),
                "person {n}"
            );
        }
        // A later batch of 70 (more keys than one statement adds) finds
        // 51 of its keys held by the rows above: the new rows replace them.
        let later: Vec<_> = (0..70).map(|n| person(n, 3)).collect();
        write_batch(&store, &later);
        assert_eq!(replica::count(&store.conn).unwrap(), 70);
        for want in later {
            assert_eq!(
                replica::get_by_hash(&store.conn, want.nik_hash.clone()).unwrap(),
                Some(want)
            );
        }
        assert_eq!(replica_rows(&store), 70, "the replaced rows are gone");
    }

    #[test]
    fn every_value_of_a_page_is_written_whatever_the_person_before_held() {
        use sigap_shared::{AreaCode, Category, Status};
        let (_dir, store, _) = store_and_budi();
        let kelurahan = [
            None,
            Some(AreaCode::parse("33.72.01.1001").unwrap()),
            Some(AreaCode::parse("33.72.05.1003").unwrap()),
        ];
        let text = |n: u64, k: u64, what: &str| match n % k {
            0 => None,
            1 => Some(what.to_string()),
            _ => Some(format!("{what} {}", n % 5)),
        };
        let when = |n: u64, k: u64| (!n.is_multiple_of(k)).then_some(1_700_000_000_000 + n % 3);
        // Each value moves between none, a value held by the person
        // before and a new one, at its own pace, so that every parameter
        // of the statements (and of the single-row tail) is bound anew,
        // left as it was, and set back to NULL along the page.
        let person = |n: u64| sigap_shared::wire::PersonState {
            nik_hash: format!(
                "{:016x}{}",
                n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                "1".repeat(48)
            ),
            nik_masked: format!("**************{:02}", n % 100),
            name_masked: text(n, 3, "B***"),
            participant: n % 4 == 1,
            registered_by: text(n, 5, "agen"),
            registered_at: when(n, 2),
            kelurahan: kelurahan[(n % 3) as usize],
            rw: (!n.is_multiple_of(4)).then_some((n % 3) as u16),
            rt: (!n.is_multiple_of(5)).then_some((n % 2) as u16),
            category: [None, Some(Category::Pu), Some(Category::Bpu)][(n % 3) as usize],
            status: [Some(Status::Registered), None, Some(Status::Void)][(n / 2 % 3) as usize],
            seq: n + 1,
            voided_at: when(n, 7),
            void_reason: text(n, 7, "pindah"),
            last_changed_by: text(n, 2, "membership roll"),
            erased_at: when(n, 11),
        };
        let persons: Vec<_> = (0..101).map(person).collect();
        write_batch(&store, &persons);
        assert_eq!(replica::count(&store.conn).unwrap(), 101);
        for want in persons {
            assert_eq!(
                replica::get_by_hash(&store.conn, want.nik_hash.clone()).unwrap(),
                Some(want)
            );
        }
    }

    #[test]
    fn a_replica_out_of_row_numbers_refuses_the_write_rather_than_mix_persons() {
        let (_dir, store, base) = store_and_budi();
        // The largest row number SQLite allows is taken: it would number
        // the next rows at random, which the writer cannot know.
        store
            .conn
            .execute(
                "INSERT INTO replica(id, nik_hash, nik_masked, participant, seq)
                 VALUES (9223372036854775807, x'00', '****', 0, 1)",
                [],
            )
            .unwrap();
        let p = sigap_shared::wire::PersonState {
            nik_hash: "ab".repeat(32),
            ..base.clone()
        };
        let h = replica::StoredHash::parse(&p.nik_hash).unwrap();
        let mut unindexed = replica::Unindexed::default();
        let written = replica::Writer::new(&store.conn, &mut unindexed)
            .and_then(|mut w| w.append(&[(h, &p)]));
        let err = written.unwrap_err().to_string();
        assert!(err.contains("replica row numbers"), "{err}");
    }

    #[test]
    fn pages_written_while_the_keys_are_indexed_go_into_the_next_pass() {
        let (_dir, store, base) = store_and_budi();
        // Hashes spread over the keys, as real ones are.
        let person = |n: usize, seq: u64| sigap_shared::wire::PersonState {
            nik_hash: format!(
                "{:016x}{}",
                (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                "0".repeat(48)
            ),
            seq,
            ..base.clone()
        };
        let write = |conn: &rusqlite::Connection, into: &mut replica::Unindexed, n, seq| {
            let p = person(n, seq);
            let h = replica::StoredHash::parse(&p.nik_hash).unwrap();
            replica::Writer::new(conn, into)
                .unwrap()
                .append(&[(h, &p)])
                .unwrap();
        };
        let tx = store.conn.unchecked_transaction().unwrap();
        // More than one step of the pass, so that pages arrive between
        // steps: each brings a newer write of a person of the pass and a
        // person not seen before.
        let first: Vec<usize> = (1..=20_000).collect();
        let mut pass = replica::Unindexed::default();
        for &n in &first {
            write(&tx, &mut pass, n, 1);
        }
        let mut next = replica::Unindexed::default();
        let mut arrivals = 0;
        let mut keys = Vec::new();
        pass.exchange(&mut keys);
        replica::index_keys(&tx, &mut keys, || {
            arrivals += 1;
            write(&tx, &mut next, arrivals * 7, 2);
            write(&tx, &mut next, 100_000 + arrivals, 2);
            Ok(())
        })
        .unwrap();
        assert!(arrivals >= 3, "called between steps: {arrivals}");
        replica::index(&tx, &mut next).unwrap();
        tx.commit().unwrap();
        let held = i64::try_from(20_000 + arrivals).unwrap();
        assert_eq!(replica::count(&store.conn).unwrap(), held);
        assert_eq!(
            replica_rows(&store),
            held,
            "no row is left behind unindexed"
        );
        for n in [7, 8, 14, 100_001, 20_000] {
            let newer = n % 7 == 0 || n > 100_000;
            let want = person(n, if newer { 2 } else { 1 });
            assert_eq!(
                replica::get_by_hash(&store.conn, want.nik_hash.clone()).unwrap(),
                Some(want),
                "person {n}"
            );
        }
    }

    #[test]
    fn two_persons_whose_hashes_begin_alike_are_both_kept_and_found() {
        let (_dir, store, base) = store_and_budi();
        // The same first 15 hex digits (60 bits), then different.
        let a = format!("0123456789abcde{}", "0".repeat(49));
        let b = format!("0123456789abcde{}", "1".repeat(49));
        assert_eq!(
            replica::StoredHash::parse(&a).unwrap().key,
            replica::StoredHash::parse(&b).unwrap().key
        );
        let first = sigap_shared::wire::PersonState {
            nik_hash: a.clone(),
            ..base.clone()
        };
        let second = sigap_shared::wire::PersonState {
            nik_hash: b.clone(),
            participant: true,
            seq: 2,
            ..base.clone()
        };
        replica::upsert(&store.conn, &first).unwrap();
        replica::upsert(&store.conn, &second).unwrap();
        assert_eq!(replica::count(&store.conn).unwrap(), 2);
        assert_eq!(
            replica::get_by_hash(&store.conn, a.clone()).unwrap(),
            Some(first.clone())
        );
        assert_eq!(
            replica::get_by_hash(&store.conn, b.clone()).unwrap(),
            Some(second.clone())
        );
        // Each written again replaces itself, never the other.
        let second_again = sigap_shared::wire::PersonState { seq: 4, ..second };
        let first_again = sigap_shared::wire::PersonState { seq: 3, ..first };
        replica::upsert(&store.conn, &second_again).unwrap();
        replica::upsert(&store.conn, &first_again).unwrap();
        assert_eq!(replica::count(&store.conn).unwrap(), 2);
        assert_eq!(
            replica::get_by_hash(&store.conn, a).unwrap(),
            Some(first_again)
        );
        assert_eq!(
            replica::get_by_hash(&store.conn, b).unwrap(),
            Some(second_again)
        );
        assert!(!replica::is_empty(&store.conn).unwrap());
        // A new deployment's key empties both.
        assert!(replica::set_key(&store.conn, &KEY).unwrap());
        assert!(replica::is_empty(&store.conn).unwrap());
    }
}
