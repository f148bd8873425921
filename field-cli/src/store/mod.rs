//! The local store: one SQLite file (WAL, synchronous=FULL) holding the
//! device's configuration, its records, the outbox (which is also the change
//! history), the receipts of the server, the replica of the agent's areas
//! and the visit log, encrypted with SQLCipher (`encryption`, with the key
//! of `kdf`). `connection` opens the file, `migrations/` holds
//! its schema one step a file, `config` the device's settings; `erasure`
//! overwrites the device's copy of a person erased on the server; the
//! other modules each hold one kind of row.

mod cipher_provider;
pub mod config;
pub mod connection;
pub mod encryption;
pub mod erasure;
mod files;
pub mod kdf;
mod migrations;
pub mod outbox;
pub mod records;
pub mod repair;
pub mod replica;
pub mod visits;
pub mod writer;

use std::path::PathBuf;

use rusqlite::Connection;

pub use config::{Device, get, key, now_text, set};
pub use connection::default_path;

pub struct Store {
    pub conn: Connection,
    pub path: PathBuf,
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use sigap_shared::Hlc;
    use uuid::Uuid;

    use super::migrations::tests::db_at;

    pub(crate) fn budi() -> (sigap_shared::Nik, sigap_shared::Fields) {
        let nik = sigap_shared::Nik::parse("3372011203850001").unwrap();
        let fields = sigap_shared::Fields {
            name: Some("Budi Santoso".into()),
            kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            rt: Some(5),
            category: Some(sigap_shared::Category::Bpu),
            status: Some(sigap_shared::Status::Registered),
            ..Default::default()
        };
        (nik, fields)
    }

    #[test]
    fn a_registration_is_stored_once_and_an_edit_gets_its_own_copy() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let device = Uuid::now_v7();
        let (nik, fields) = budi();
        let mut w = writer::Writer::begin(&mut store.conn, device).unwrap();
        let hlc = w.tick();
        let registered = sigap_shared::PersonRecord::from_write(nik.clone(), &fields, hlc);
        let seq = w.register(&nik, &fields, &[], hlc).unwrap().unwrap();
        w.commit().unwrap();
        // No second copy of the fields: the record points at its change.
        let (copy, points_at): (Option<String>, Option<i64>) = store
            .conn
            .query_row("SELECT fields, fields_seq FROM records", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((copy, points_at), (None, Some(seq)));
        let read = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(read.record, registered);
        assert_eq!(read.pending, 1);

        // An edit of the phone alone: the record now holds two timestamps
        // and its own fields; the registration change is unchanged.
        let mut w = writer::Writer::begin(&mut store.conn, device).unwrap();
        let later = w.tick();
        let edit = sigap_shared::Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        let mut edited = registered.clone();
        edited.apply(&edit, later);
        w.save(&edited, &[], sigap_shared::ChangeKind::Edit, &edit, later)
            .unwrap();
        w.commit().unwrap();
        let read = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(read.record, edited);
        assert_eq!(read.pending, 2);
        let changes = outbox::history(&store.conn, &nik).unwrap();
        assert_eq!(changes.len(), 2);
        // Change ids are distinct UUIDv7s carrying the change's clock time.
        let ids: Vec<Uuid> = changes.iter().map(|c| c.id.parse().unwrap()).collect();
        assert_ne!(ids[0], ids[1]);
        for (id, h) in ids.iter().zip([hlc, later]) {
            assert_eq!(id.get_version_num(), 7);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!(secs * 1000 + u64::from(nanos) / 1_000_000, h.millis);
        }
    }
    #[test]
    fn the_clock_and_numbers_resume_after_the_newest_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let device = Uuid::now_v7();
        // An older database kept the clock in config too; the copy goes.
        let (_old, old_path, conn) = db_at(6);
        conn.execute("INSERT INTO config VALUES ('hlc_last', 'x')", [])
            .unwrap();
        drop(conn);
        let old = Store::open(&old_path, None).unwrap();
        assert_eq!(old.get("hlc_last").unwrap(), None);

        // The newest change was stamped an hour ahead of the system clock
        // (the clock was set back since).
        let ahead = Hlc {
            millis: sigap_shared::hlc::wall_millis() + 3_600_000,
            counter: 7,
            device,
        };
        let (nik, fields) = budi();
        let mut store = Store::open(&path, None).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, created_at)
                 VALUES (41, 'a', ?1, ?2, 'register', '{}', 't')",
                [nik.as_str(), &ahead.to_sortable()],
            )
            .unwrap();
        let mut w = writer::Writer::begin(&mut store.conn, device).unwrap();
        let next = w.tick();
        assert!(next > ahead, "{next:?} after {ahead:?}");
        let other = sigap_shared::Nik::parse("3372011203850002").unwrap();
        assert_eq!(w.register(&other, &fields, &[], next).unwrap(), Some(42));
        w.commit().unwrap();

        // Another device's stamps (a database copied from it) are not
        // resumed: this device's clock starts afresh.
        let mut w = writer::Writer::begin(&mut store.conn, Uuid::now_v7()).unwrap();
        assert!(w.tick().millis <= sigap_shared::hlc::wall_millis());
    }

    #[test]
    fn a_record_pointing_at_a_missing_change_is_an_error_that_says_what_is_safe() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let (nik, _) = budi();
        store
            .conn
            .execute(
                "INSERT INTO records(nik, fields_seq, created_at, updated_at)
                 VALUES (?1, 99, 't', 't')",
                [nik.as_str()],
            )
            .unwrap();
        let err = records::get(&store.conn, &nik).unwrap_err().to_string();
        assert!(err.contains("is damaged (no fields)"), "{err}");
        assert!(err.contains("`sigap sync` still sends them"), "{err}");
    }
}
