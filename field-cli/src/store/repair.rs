//! Repairs of the outbox that keep every change: stamping again changes a
//! wrong clock stamped (same id, same number), a new id for a change whose
//! id the server holds elsewhere, and numbering unsent changes after what
//! the server holds (a laptop restored from an old backup). Each repair is
//! one transaction: it happens whole or not at all.

use std::collections::HashMap;

use rand::Rng;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sigap_shared::merge::Stamps;
use sigap_shared::{Hlc, HlcClock};
use uuid::Uuid;

use crate::error::{CliError, Result};
use crate::i18n::t;

/// How far apart this laptop's clock and the server's may be before `sigap
/// sync` warns, and how far ahead of this laptop's clock a change's stamp
/// may be before it counts as made by a wrong clock.
pub const CLOCK_TOLERANCE_MS: u64 = 5 * 60 * 1000;

/// One change stamped again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restamped {
    pub device_seq: i64,
    pub old: Hlc,
    pub new: Hlc,
}

/// Unsent changes whose stamp this device's clock cannot have given
/// rightly at wall time `wall`: refused as ahead of the server's clock or
/// as a bad stamp (such a refusal leaves the number free), or, numbered
/// above everything the server holds (`?3`), stamped more than
/// [`CLOCK_TOLERANCE_MS`] ahead of `wall` or by another device's clock (a
/// database copied from another laptop). A change the server may hold
/// (its answer lost) is never stamped again: the server would take the
/// same id with another stamp for another change (`id_reused`).
const WRONGLY_STAMPED: &str = "state = 'pending'
    AND (COALESCE(reject_code, '') IN ('clock_ahead', 'invalid_timestamp')
        OR (device_seq > ?3 AND (hlc > ?1 OR substr(hlc, 29) <> ?2)))";

/// Stamps the unsent changes a wrong clock stamped again, by this
/// device's clock at wall time `wall` (which the caller has checked
/// against the server's): same ids, same numbers, same order. `held_up_to`
/// is the server's highest number from this device (`Receipt::max_seq`).
/// Returns what was stamped again.
///
/// Why the clock matters beyond the refusal: the device's clock resumes
/// from its newest change's stamp (see `writer`), so one change stamped
/// far ahead would keep every later stamp ahead too, and the server would
/// refuse them all. Once the newest changes carry corrected stamps, the
/// clock resumes from the corrected time. The records' own timestamps
/// follow, so that a later edit here still wins over the change it edits.
pub fn restamp(
    conn: &mut Connection,
    device: Uuid,
    wall: u64,
    held_up_to: u64,
) -> Result<Vec<Restamped>> {
    let held_up_to = i64::try_from(held_up_to).unwrap_or(i64::MAX);
    let limit = Hlc {
        millis: wall.saturating_add(CLOCK_TOLERANCE_MS),
        counter: u32::MAX,
        device: Uuid::max(),
    }
    .to_sortable();
    let device_text = device.as_hyphenated().to_string();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The usual case costs two lookups, not a read of every pending
    // change: stamps rise with the numbers (the clock resumes from the
    // newest change), so when the newest is right the older ones are too,
    // unless the server refused one for its stamp.
    let newest: Option<String> = tx
        .query_row(
            "SELECT hlc FROM changes ORDER BY device_seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let newest_wrong =
        newest.is_some_and(|h| h > limit || h.get(28..).is_none_or(|d| d != device_text));
    let refused: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM changes WHERE state = 'pending'
            AND reject_code IS NOT NULL
            AND reject_code IN ('clock_ahead', 'invalid_timestamp'))",
        [],
        |r| r.get(0),
    )?;
    if !newest_wrong && !refused {
        return Ok(Vec::new());
    }
    let wrong: Vec<(i64, String, String)> = tx
        .prepare(&format!(
            "SELECT device_seq, hlc, nik FROM changes WHERE {WRONGLY_STAMPED} ORDER BY device_seq"
        ))?
        .query_map(params![limit, device_text, held_up_to], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if wrong.is_empty() {
        return Ok(Vec::new());
    }
    // After every stamp kept (those the server holds): a corrected change
    // must still win over the earlier changes it follows.
    let kept: Option<String> = tx.query_row(
        &format!("SELECT MAX(hlc) FROM changes WHERE NOT ({WRONGLY_STAMPED})"),
        params![limit, device_text, held_up_to],
        |r| r.get(0),
    )?;
    let mut clock = match kept.as_deref().and_then(Hlc::from_sortable) {
        Some(last) => HlcClock::resume(Hlc { device, ..last }),
        None => HlcClock::new(device),
    };
    let mut done = Vec::with_capacity(wrong.len());
    let mut by_nik: HashMap<String, HashMap<Hlc, Hlc>> = HashMap::new();
    {
        let mut update = tx.prepare(
            "UPDATE changes SET hlc = ?2, outcome = NULL, reject_code = NULL,
             reject_reason = NULL WHERE device_seq = ?1",
        )?;
        for (seq, old_text, nik) in wrong {
            let old = Hlc::from_sortable(&old_text).ok_or_else(|| {
                CliError::Local(t!("damaged-change", seq = seq, what = "timestamp"))
            })?;
            let new = clock.now_at(wall);
            update.execute(params![seq, new.to_sortable()])?;
            by_nik.entry(nik).or_default().insert(old, new);
            done.push(Restamped {
                device_seq: seq,
                old,
                new,
            });
        }
    }
    // A record made by one change reads that change's stamp; a record of
    // several keeps its own per field.
    {
        let mut read =
            tx.prepare("SELECT stamps FROM records WHERE nik = ?1 AND stamps IS NOT NULL")?;
        let mut write = tx.prepare("UPDATE records SET stamps = ?2 WHERE nik = ?1")?;
        for (nik, map) in &by_nik {
            let stored: Option<String> = read.query_row([nik], |r| r.get(0)).optional()?;
            let Some(text) = stored else { continue };
            let mut stamps: Stamps = serde_json::from_str(&text)
                .map_err(|e| CliError::Local(t!("damaged-nik-stamps", nik = nik, detail = e)))?;
            for hlc in stamps.0.values_mut() {
                if let Some(new) = map.get(hlc) {
                    *hlc = *new;
                }
            }
            write.execute(params![nik, serde_json::to_string(&stamps)?])?;
        }
    }
    tx.commit()?;
    Ok(done)
}

/// Gives a new id to each unsent change the server refused because it
/// holds that id elsewhere (`id_reused`); the number, stamp and fields
/// stay. Returns how many. Sent again, the change fills its own number;
/// if the server already holds its content under the old id, the same
/// fields at the same stamp change nothing there.
pub fn new_ids(conn: &mut Connection) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let refused: Vec<(i64, String)> = tx
        .prepare(
            "SELECT device_seq, hlc FROM changes WHERE state = 'pending'
             AND reject_code IS NOT NULL AND reject_code = 'id_reused' ORDER BY device_seq",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    {
        let mut update = tx.prepare(
            "UPDATE changes SET id = ?2, outcome = NULL, reject_code = NULL,
             reject_reason = NULL WHERE device_seq = ?1",
        )?;
        let mut rng = rand::rng();
        for (seq, hlc) in &refused {
            let millis = Hlc::from_sortable(hlc).map_or(0, |h| h.millis);
            let mut random = [0u8; 10];
            rng.fill(&mut random);
            let id = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
            update.execute(params![seq, id.to_string()])?;
        }
    }
    tx.commit()?;
    Ok(refused.len())
}

/// Numbers the changes `seqs` (unsent, in ascending order) after
/// `after`: the first becomes `after + 1`, the next `after + 2`, and so
/// on, keeping their order, ids, stamps and fields, and every reference
/// to them (a record made by one of them, a rejected change corrected by
/// one of them). `after` must be at least every number kept. One
/// transaction.
pub fn renumber(conn: &mut Connection, seqs: &[i64], after: i64) -> Result<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // References are checked at the commit, once they all point at the
    // new numbers again.
    tx.execute_batch(
        "PRAGMA defer_foreign_keys = ON;
         CREATE TEMP TABLE IF NOT EXISTS renumbered (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
         DELETE FROM temp.renumbered;",
    )?;
    {
        let mut insert = tx.prepare("INSERT INTO temp.renumbered (old, new) VALUES (?1, ?2)")?;
        for (i, seq) in (1i64..).zip(seqs) {
            insert.execute(params![seq, after + i])?;
        }
    }
    // Through negative numbers: a new number may be the old number of
    // another change being renumbered.
    tx.execute_batch(
        "UPDATE changes SET device_seq = -(SELECT new FROM temp.renumbered WHERE old = device_seq)
            WHERE device_seq IN (SELECT old FROM temp.renumbered);
         UPDATE changes SET device_seq = -device_seq WHERE device_seq < 0;
         UPDATE changes SET superseded_by =
                (SELECT new FROM temp.renumbered WHERE old = superseded_by)
            WHERE superseded_by IN (SELECT old FROM temp.renumbered);
         UPDATE records SET fields_seq = (SELECT new FROM temp.renumbered WHERE old = fields_seq)
            WHERE fields_seq IN (SELECT old FROM temp.renumbered);
         DELETE FROM temp.renumbered;",
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::writer::Writer;
    use crate::store::{Store, outbox, records};
    use sigap_shared::{ChangeKind, Fields, Nik, PersonRecord};

    fn fields(name: &str) -> Fields {
        Fields {
            name: Some(name.into()),
            kelurahan: Some(sigap_shared::AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            rt: Some(5),
            category: Some(sigap_shared::Category::Bpu),
            status: Some(sigap_shared::Status::Registered),
            ..Default::default()
        }
    }

    fn register(store: &mut Store, device: Uuid, nik: &Nik, name: &str) -> i64 {
        let mut w = Writer::begin(&mut store.conn, device).unwrap();
        let hlc = w.tick();
        let seq = w.register(nik, &fields(name), &[], hlc).unwrap().unwrap();
        w.commit().unwrap();
        seq
    }

    fn edit(
        store: &mut Store,
        device: Uuid,
        nik: &Nik,
        f: &Fields,
    ) -> (i64, Vec<sigap_shared::Field>) {
        let mut w = Writer::begin(&mut store.conn, device).unwrap();
        let mut record = w.record(nik).unwrap().unwrap().record;
        let hlc = w.tick();
        let changed = record.apply(f, hlc);
        let seq = w.save(&record, &[], ChangeKind::Edit, f, hlc).unwrap();
        w.commit().unwrap();
        (seq, changed)
    }

    fn hlc_of(store: &Store, seq: i64) -> Hlc {
        let text: String = store
            .conn
            .query_row(
                "SELECT hlc FROM changes WHERE device_seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .unwrap();
        Hlc::from_sortable(&text).unwrap()
    }

    fn ids(store: &Store) -> Vec<(i64, String)> {
        store
            .conn
            .prepare("SELECT device_seq, id FROM changes ORDER BY device_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    const TEN_YEARS_MS: u64 = 3652 * 24 * 3600 * 1000;

    #[test]
    fn changes_a_wrong_clock_stamped_are_stamped_again_and_the_clock_resumes_from_now() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let device = Uuid::now_v7();
        let budi = Nik::parse("3372011203850001").unwrap();
        let siti = Nik::parse("3372015203900002").unwrap();
        // Change 1 was made with the clock right and is held by the server.
        register(&mut store, device, &budi, "Budi Santoso");
        store
            .conn
            .execute(
                "UPDATE changes SET state = 'acked', outcome = 'applied'",
                [],
            )
            .unwrap();
        let held = hlc_of(&store, 1);
        // Change 2 was made with the clock ten years ahead.
        register(&mut store, device, &siti, "Siti Aminah");
        let ahead = Hlc {
            millis: hlc_of(&store, 2).millis + TEN_YEARS_MS,
            ..hlc_of(&store, 2)
        };
        store
            .conn
            .execute(
                "UPDATE changes SET hlc = ?1, outcome = 'rejected', reject_code = 'clock_ahead',
                 reject_reason = 'fix the clock' WHERE device_seq = 2",
                [ahead.to_sortable()],
            )
            .unwrap();
        // The clock was set right since, but resumes from that stamp: the
        // next change is stamped ten years ahead too.
        let phone = Fields {
            phone: Some("081234567890".into()),
            ..Default::default()
        };
        let (third, _) = edit(&mut store, device, &siti, &phone);
        assert!(hlc_of(&store, third) > ahead);
        let before = ids(&store);

        let wall = sigap_shared::hlc::wall_millis();
        let done = restamp(&mut store.conn, device, wall, 1).unwrap();
        assert_eq!(
            done.iter().map(|r| r.device_seq).collect::<Vec<_>>(),
            vec![2, third]
        );
        // Same ids and numbers; stamps after the held one, in the old
        // order, by the corrected clock.
        assert_eq!(ids(&store), before);
        assert_eq!(hlc_of(&store, 1), held);
        let (two, three) = (hlc_of(&store, 2), hlc_of(&store, third));
        assert!(held < two && two < three, "{held:?} {two:?} {three:?}");
        assert!(three.millis <= sigap_shared::hlc::wall_millis());
        assert!(two.millis + 60_000 >= wall);
        // The refusal is cleared: the change goes again.
        assert!(outbox::refused(&store.conn).unwrap().is_empty());
        // The record (made by two changes) carries the new stamps.
        let record = records::get(&store.conn, &siti).unwrap().unwrap().record;
        let mut expected = PersonRecord::from_write(siti.clone(), &fields("Siti Aminah"), two);
        expected.apply(&phone, three);
        assert_eq!(record, expected);
        // The clock resumes from the corrected time, and an edit made now
        // wins over the ones before it.
        let (next, changed) = edit(
            &mut store,
            device,
            &siti,
            &Fields {
                phone: Some("081298765432".into()),
                ..Default::default()
            },
        );
        assert_eq!(changed, vec![sigap_shared::Field::Phone]);
        let next = hlc_of(&store, next);
        assert!(next > three && next.millis <= sigap_shared::hlc::wall_millis() + 1000);
        // Nothing left to stamp again.
        assert!(
            restamp(&mut store.conn, device, wall, 1)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_change_the_server_may_hold_keeps_its_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let device = Uuid::now_v7();
        register(
            &mut store,
            device,
            &Nik::parse("3372011203850001").unwrap(),
            "Budi",
        );
        // Stamped an hour ahead and sent; the server's answer was lost, and
        // its receipt says it holds number 1.
        let ahead = Hlc {
            millis: hlc_of(&store, 1).millis + 3_600_000,
            ..hlc_of(&store, 1)
        };
        store
            .conn
            .execute(
                "UPDATE changes SET hlc = ?1 WHERE device_seq = 1",
                [ahead.to_sortable()],
            )
            .unwrap();
        let wall = sigap_shared::hlc::wall_millis();
        assert!(
            restamp(&mut store.conn, device, wall, 1)
                .unwrap()
                .is_empty()
        );
        assert_eq!(hlc_of(&store, 1), ahead);
        // Not held: stamped again.
        let done = restamp(&mut store.conn, device, wall, 0).unwrap();
        assert_eq!(done.len(), 1);
        assert!(hlc_of(&store, 1) < ahead);
    }

    #[test]
    fn unsent_changes_are_renumbered_after_the_servers_numbers_with_their_references() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let device = Uuid::now_v7();
        let budi = Nik::parse("3372011203850001").unwrap();
        let siti = Nik::parse("3372015203900002").unwrap();
        let joko = Nik::parse("3372011203850003").unwrap();
        register(&mut store, device, &budi, "Budi Santoso"); // 1
        register(&mut store, device, &siti, "Siti Aminah"); // 2
        // 1 held; 2 rejected, then corrected by 3; 4 registers Joko.
        store
            .conn
            .execute_batch(
                "UPDATE changes SET state = 'acked' WHERE device_seq = 1;
                 UPDATE changes SET state = 'rejected', reject_code = 'c', reject_reason = 'r'
                    WHERE device_seq = 2;",
            )
            .unwrap();
        let occupation = Fields {
            occupation: Some("buruh".into()),
            ..Default::default()
        };
        let (three, _) = edit(&mut store, device, &siti, &occupation);
        outbox::supersede_rejected(&store.conn, &siti, three).unwrap();
        let four = register(&mut store, device, &joko, "Joko");
        let before: Vec<String> = ids(&store).into_iter().map(|(_, id)| id).collect();
        let joko_before = records::get(&store.conn, &joko).unwrap().unwrap().record;

        // The server holds numbers up to 7 from this device.
        renumber(&mut store.conn, &[three, four], 7).unwrap();
        let after = ids(&store);
        assert_eq!(
            after.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![1, 2, 8, 9]
        );
        // Same ids, same order.
        assert_eq!(
            after.into_iter().map(|(_, id)| id).collect::<Vec<_>>(),
            before
        );
        // The correction still points at its change, the record made by
        // one change still reads it.
        let corrected: Option<i64> = store
            .conn
            .query_row(
                "SELECT superseded_by FROM changes WHERE device_seq = 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(corrected, Some(8));
        assert_eq!(
            records::get(&store.conn, &joko).unwrap().unwrap().record,
            joko_before
        );
        // The next change is numbered after them.
        assert_eq!(
            register(
                &mut store,
                device,
                &Nik::parse("3372011203850004").unwrap(),
                "Eko"
            ),
            10
        );

        // New numbers that are old numbers of changes moved too.
        renumber(&mut store.conn, &[8, 9, 10], 8).unwrap();
        assert_eq!(
            ids(&store).iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![1, 2, 9, 10, 11]
        );
        let corrected: Option<i64> = store
            .conn
            .query_row(
                "SELECT superseded_by FROM changes WHERE device_seq = 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(corrected, Some(9));
        assert_eq!(
            records::get(&store.conn, &joko).unwrap().unwrap().record,
            joko_before
        );
        let broken: Option<String> = store
            .conn
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(broken, None);
    }

    #[test]
    fn a_change_refused_for_its_id_gets_a_new_one_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db"), None).unwrap();
        let device = Uuid::now_v7();
        let budi = Nik::parse("3372011203850001").unwrap();
        register(&mut store, device, &budi, "Budi Santoso");
        let (old_id, hlc) = (ids(&store)[0].1.clone(), hlc_of(&store, 1));
        store
            .conn
            .execute(
                "UPDATE changes SET outcome = 'rejected', reject_code = 'id_reused',
                 reject_reason = 'r' WHERE device_seq = 1",
                [],
            )
            .unwrap();
        assert_eq!(new_ids(&mut store.conn).unwrap(), 1);
        let new_id: Uuid = ids(&store)[0].1.parse().unwrap();
        assert_ne!(new_id.to_string(), old_id);
        assert_eq!(new_id.get_version_num(), 7);
        assert_eq!(hlc_of(&store, 1), hlc);
        assert!(outbox::refused(&store.conn).unwrap().is_empty());
        assert_eq!(new_ids(&mut store.conn).unwrap(), 0);
    }
}
