//! A person erased on the server (an admin's erasure at a PDP request,
//! `POST /api/v1/persons/{nik}/erase`): the pull's person carries
//! `erased_at`, and this device overwrites its own copy of the person, as
//! the server overwrote its own: name, occupation, employer and void
//! reason read `[dihapus]`, the phone is emptied
//! ([`sigap_shared::erasure`]). What the coverage count needs stays (the
//! NIK, the address, the category, the status, the birth date and sex).
//!
//! What is overwritten:
//! - the fields JSON of every change of the person the server has
//!   answered (`acked`, and `rejected`: the server holds those in its log
//!   too, and erased them there) whose clock is not later than the
//!   erasure;
//! - in the record, each personal field whose latest write here is not
//!   later than the erasure and is not a pending change.
//!
//! Pending changes are left alone: they are the agent's new work, not
//! yet sent, and the server has not seen them. They go with the next
//! sync; a field one of them writes with a clock before the erasure
//! loses to the erasure on the server (answered `superseded`), and that
//! sync overwrites it here too once it is answered ([`reapply`]). A field
//! written after the erasure is kept on both sides.
//!
//! Called inside the transaction that writes the pulled page into the
//! replica, so that a crash leaves both or neither.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};
use sigap_shared::erasure::erase_personal;
use sigap_shared::{Fields, Hlc, Nik, ReplicaKey, nik_lookup_hash};

use super::records;
use crate::error::Result;

/// Overwrites the personal data of this device's own persons that the
/// server erased: `erased` maps the feed's lookup hash of each erased
/// person to its `erased_at`. The local NIKs (records, and changes of a
/// NIK without a record here) are hashed with the replica `key` to find
/// them. Returns how many of this device's persons were changed.
pub fn apply(conn: &Connection, key: &ReplicaKey, erased: &HashMap<String, u64>) -> Result<u64> {
    if erased.is_empty() {
        return Ok(0);
    }
    let mut ours: Vec<(Nik, u64)> = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT nik FROM records UNION SELECT nik FROM changes")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let text: String = r.get(0)?;
            // A NIK that does not parse was never sent, so never erased.
            let Ok(nik) = Nik::parse(&text) else { continue };
            if let Some(at) = erased.get(&nik_lookup_hash(key, &nik)) {
                ours.push((nik, *at));
            }
        }
    }
    if ours.is_empty() {
        return Ok(0);
    }
    // The overwritten bytes are zeroed in the file, not merely freed.
    let secure: i64 = conn.query_row("PRAGMA secure_delete", [], |r| r.get(0))?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    let mut changed = 0;
    let mut result = Ok(());
    for (nik, at) in &ours {
        match erase_person(conn, nik, *at) {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    conn.pragma_update(None, "secure_delete", secure)?;
    result.map(|()| changed)
}

/// Overwrites again the copy of each of `niks` whose pulled person the
/// replica says was erased, for changes answered since: a change written
/// before the erasure but still pending when it was pulled is sent by a
/// later sync, where the erasure's later clock wins over it (the server
/// answers `superseded`) and the person is not sent again. `sigap sync`
/// calls this with the NIKs of its superseded changes, in one
/// transaction. Returns how many persons were changed.
pub fn reapply<'a>(conn: &mut Connection, niks: impl IntoIterator<Item = &'a str>) -> Result<u64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut seen = HashSet::new();
    let mut changed = 0;
    for text in niks {
        if !seen.insert(text) {
            continue;
        }
        let Ok(nik) = Nik::parse(text) else { continue };
        let Some(at) = super::replica::get(&tx, &nik)?.and_then(|p| p.erased_at) else {
            continue;
        };
        if erase_person(&tx, &nik, at)? {
            changed += 1;
        }
    }
    tx.commit()?;
    Ok(changed)
}

/// Overwrites this device's copy of `nik`, erased on the server at
/// `erased_at` (milliseconds); whether anything was left to overwrite.
pub fn erase_person(conn: &Connection, nik: &Nik, erased_at: u64) -> Result<bool> {
    let mut changed = false;
    // The stamps of the pending changes: what they wrote stays, in them
    // and in the record.
    let mut pending: HashSet<Hlc> = HashSet::new();
    let mut answered: Vec<(i64, String)> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT device_seq, hlc, fields, state FROM changes WHERE nik = ?1
             ORDER BY device_seq",
        )?;
        let mut rows = stmt.query([nik.as_str()])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let hlc: String = r.get(1)?;
            let state: String = r.get(3)?;
            let Some(hlc) = Hlc::from_sortable(&hlc) else {
                continue;
            };
            if state == "pending" {
                pending.insert(hlc);
            } else if hlc.millis <= erased_at {
                answered.push((seq, r.get(2)?));
            }
        }
    }
    for (seq, text) in answered {
        // A change whose fields do not read (a damaged row) is left as
        // it is, as the server leaves such a row of its log.
        let Ok(mut fields) = serde_json::from_str::<Fields>(&text) else {
            continue;
        };
        if erase_personal(&mut fields, |_| true) {
            conn.prepare_cached("UPDATE changes SET fields = ?1 WHERE device_seq = ?2")?
                .execute(params![serde_json::to_string(&fields)?, seq])?;
            changed = true;
        }
    }
    // The record after the changes above: one that points at its only
    // change reads that change's fields, now overwritten.
    let Some(rec) = records::get(conn, nik)? else {
        return Ok(changed);
    };
    let mut fields = rec.record.fields.clone();
    let stamps = &rec.record.stamps;
    let erase = erase_personal(&mut fields, |f| {
        stamps
            .0
            .get(&f)
            .is_some_and(|h| h.millis <= erased_at && !pending.contains(h))
    });
    if erase {
        // Kept as its own fields and stamps from now on; its warnings and
        // last-change time are the agent's, and stay.
        records::store(
            conn,
            nik,
            &fields,
            records::Source::Merged {
                stamps,
                fields_json: None,
            },
            false,
            &rec.warnings,
            &rec.updated_at,
        )?;
        changed = true;
    } else {
        // The `name` column (for sorting lists) of a record whose fields
        // are its change's.
        let name = fields.name.as_deref().unwrap_or_default();
        changed |= conn
            .prepare_cached("UPDATE records SET name = ?2 WHERE nik = ?1 AND name != ?2")?
            .execute(params![nik.as_str(), name])?
            > 0;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::store::Store;
    use crate::store::writer::Writer;
    use sigap_shared::erasure::ERASED;
    use sigap_shared::{ChangeKind, PersonRecord};
    use uuid::Uuid;

    const KEY: ReplicaKey = ReplicaKey::from_bytes([9; 32]);

    fn siti() -> (Nik, Fields) {
        let nik = Nik::parse("3372015505900002").unwrap();
        let fields = Fields {
            name: Some("Siti Rahayu".into()),
            phone: Some("081234567890".into()),
            occupation: Some("pedagang".into()),
            employer: Some("Toko Batik Solo".into()),
            kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(1),
            rt: Some(2),
            category: Some(sigap_shared::Category::Pu),
            status: Some(sigap_shared::Status::Registered),
            ..Fields::default()
        };
        (nik, fields)
    }

    fn hlc(millis: u64, device: Uuid) -> Hlc {
        Hlc {
            millis,
            counter: 0,
            device,
        }
    }

    /// Registers `fields` at `at`, then edits with `edit` at `at + 1000`.
    fn store_with(device: Uuid, at: u64, edit: Option<&Fields>) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let (nik, fields) = siti();
        let mut w = Writer::begin(&mut store.conn, device).unwrap();
        w.register(&nik, &fields, &[], hlc(at, device)).unwrap();
        if let Some(edit) = edit {
            let mut rec = w.record(&nik).unwrap().unwrap().record;
            rec.apply(edit, hlc(at + 1000, device));
            w.save(&rec, &[], ChangeKind::Edit, edit, hlc(at + 1000, device))
                .unwrap();
        }
        w.commit().unwrap();
        (dir, store)
    }

    fn ack(store: &Store, seq: i64) {
        store
            .conn
            .execute(
                "UPDATE changes SET state = 'acked', outcome = 'applied' WHERE device_seq = ?1",
                [seq],
            )
            .unwrap();
    }

    fn change_fields(store: &Store, seq: i64) -> Fields {
        let text: String = store
            .conn
            .query_row(
                "SELECT fields FROM changes WHERE device_seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn name_column(store: &Store, nik: &Nik) -> String {
        store
            .conn
            .query_row(
                "SELECT name FROM records WHERE nik = ?1",
                [nik.as_str()],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn erased(nik: &Nik, at: u64) -> HashMap<String, u64> {
        HashMap::from([(nik_lookup_hash(&KEY, nik), at)])
    }

    #[test]
    fn a_sent_registration_is_overwritten_in_the_record_and_the_change() {
        let device = Uuid::now_v7();
        let (_dir, store) = store_with(device, 1_000, None);
        let (nik, before) = siti();
        ack(&store, 1);
        // Someone else's person erased: nothing here changes.
        let other = Nik::parse("3372011203850001").unwrap();
        assert_eq!(apply(&store.conn, &KEY, &erased(&other, 9_000)).unwrap(), 0);
        assert_eq!(change_fields(&store, 1), before);

        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 9_000)).unwrap(), 1);
        let f = change_fields(&store, 1);
        assert_eq!(f.name.as_deref(), Some(ERASED));
        assert_eq!(f.phone.as_deref(), Some(""));
        assert_eq!(f.occupation.as_deref(), Some(ERASED));
        assert_eq!(f.employer.as_deref(), Some(ERASED));
        assert_eq!(
            (f.kelurahan, f.rw, f.rt),
            (before.kelurahan, before.rw, before.rt)
        );
        assert_eq!(f.category, before.category);
        let rec = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(rec.fields(), &f);
        assert_eq!(name_column(&store, &nik), ERASED);
        // A second pull of the same erasure finds nothing left.
        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 9_000)).unwrap(), 0);
    }

    #[test]
    fn pending_work_and_writes_after_the_erasure_are_kept() {
        let device = Uuid::now_v7();
        let edit = Fields {
            phone: Some("089911112222".into()),
            ..Fields::default()
        };
        let (_dir, store) = store_with(device, 1_000, Some(&edit));
        let (nik, before) = siti();
        // The registration was sent; the phone edit was not.
        ack(&store, 1);
        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 9_000)).unwrap(), 1);
        assert_eq!(change_fields(&store, 1).name.as_deref(), Some(ERASED));
        assert_eq!(change_fields(&store, 2), edit, "pending: untouched");
        let rec = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(rec.fields().name.as_deref(), Some(ERASED));
        assert_eq!(rec.fields().phone.as_deref(), Some("089911112222"));
        assert_eq!(rec.pending, 1);
        // Its stamps are the writes' own: a later edit merges as before.
        let mut expected = PersonRecord::from_write(nik.clone(), &before, hlc(1_000, device));
        expected.apply(&edit, hlc(2_000, device));
        assert_eq!(rec.record.stamps, expected.stamps);

        // Once sent, an erasure later than it overwrites it too; one
        // before it (the edit was written after) leaves it.
        ack(&store, 2);
        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 1_500)).unwrap(), 0);
        assert_eq!(change_fields(&store, 2), edit);
        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 9_000)).unwrap(), 1);
        assert_eq!(change_fields(&store, 2).phone.as_deref(), Some(""));
        let rec = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(rec.fields().phone.as_deref(), Some(""));
    }

    #[test]
    fn a_change_pending_at_the_pull_is_overwritten_once_the_server_answers_it() {
        let device = Uuid::now_v7();
        let edit = Fields {
            phone: Some("089911112222".into()),
            ..Fields::default()
        };
        let (_dir, mut store) = store_with(device, 1_000, Some(&edit));
        let (nik, fields) = siti();
        ack(&store, 1);
        // The pull that says she was erased: the pending edit stays.
        crate::store::replica::set_key(&store.conn, &KEY).unwrap();
        crate::store::replica::upsert(
            &store.conn,
            &sigap_shared::wire::PersonState {
                erased_at: Some(9_000),
                seq: 5,
                ..sigap_shared::wire::PersonState::masked(&KEY, &nik, &fields)
            },
        )
        .unwrap();
        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 9_000)).unwrap(), 1);
        assert_eq!(change_fields(&store, 2), edit);
        // Not answered yet: nothing to do.
        assert_eq!(reapply(&mut store.conn, [nik.as_str()]).unwrap(), 0);
        // Sent and answered `superseded`: overwritten too.
        ack(&store, 2);
        let other = "3372011203850001";
        assert_eq!(
            reapply(&mut store.conn, [nik.as_str(), nik.as_str(), other, "x"]).unwrap(),
            1
        );
        assert_eq!(change_fields(&store, 2).phone.as_deref(), Some(""));
        let rec = records::get(&store.conn, &nik).unwrap().unwrap();
        assert_eq!(rec.fields().phone.as_deref(), Some(""));
        assert_eq!(rec.fields().name.as_deref(), Some(ERASED));
    }

    #[test]
    fn a_pending_registration_is_left_alone() {
        let device = Uuid::now_v7();
        let (_dir, store) = store_with(device, 1_000, None);
        let (nik, before) = siti();
        assert_eq!(apply(&store.conn, &KEY, &erased(&nik, 9_000)).unwrap(), 0);
        assert_eq!(change_fields(&store, 1), before);
        assert_eq!(name_column(&store, &nik), "Siti Rahayu");
    }
}
