//! The outbox: every change made on this device, in order. It is also the
//! history of each record; nothing is ever deleted from it.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sigap_shared::wire::Receipt;
use sigap_shared::{ChangeKind, Hlc, Nik, Outcome};
use uuid::Uuid;

use crate::error::{CliError, Result};
use crate::i18n::t;

pub struct NewChange<'a> {
    pub seq: i64,
    pub id: Uuid,
    pub nik: &'a Nik,
    pub hlc: Hlc,
    pub kind: ChangeKind,
    /// The change's fields as JSON (`sigap_shared::Fields`).
    pub fields: &'a str,
    pub now: &'a str,
}

pub fn kind_str(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Register => "register",
        ChangeKind::Edit => "edit",
        ChangeKind::Void => "void",
    }
}

fn parse_kind(text: &str) -> Result<ChangeKind> {
    match text {
        "register" => Ok(ChangeKind::Register),
        "edit" => Ok(ChangeKind::Edit),
        "void" => Ok(ChangeKind::Void),
        other => Err(CliError::Local(t!("damaged-kind", kind = other))),
    }
}

/// The newest change's device number and timestamp (as stored), or `None`
/// before the first change.
pub fn last(conn: &Connection) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT device_seq, hlc FROM changes ORDER BY device_seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn append(conn: &Connection, c: &NewChange<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO changes(device_seq, id, nik, hlc, kind, fields, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        c.seq,
        c.id.to_string(),
        c.nik.as_str(),
        c.hlc.to_sortable(),
        kind_str(c.kind),
        c.fields,
        c.now,
    ])?;
    Ok(())
}

pub fn supersede_rejected(conn: &Connection, nik: &Nik, by: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE changes SET superseded_by = ?2
         WHERE nik = ?1 AND state = 'rejected' AND superseded_by IS NULL",
        params![nik.as_str(), by],
    )?)
}

/// One change as the history and `status` show it.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRow {
    pub device_seq: i64,
    pub id: String,
    pub nik: String,
    pub hlc: String,
    pub kind: String,
    pub fields: serde_json::Value,
    pub state: String,
    pub outcome: Option<String>,
    pub reject_code: Option<String>,
    pub reject_reason: Option<String>,
    pub superseded_by: Option<i64>,
    pub created_at: String,
    pub answered_at: Option<String>,
    /// For a change answered `superseded`: `{"fields": […], "by": […]}`,
    /// the fields the server holds from later writes of others, and who.
    pub held_differently: Option<serde_json::Value>,
}

const ROW: &str = "SELECT device_seq, id, nik, hlc, kind, fields, state, outcome, reject_code,
    reject_reason, superseded_by, created_at, answered_at, held_differently FROM changes";

fn rows(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<ChangeRow>> {
    let mut stmt = conn.prepare(sql)?;
    let iter = stmt.query_map(args, |r| {
        let fields: String = r.get(5)?;
        Ok(ChangeRow {
            device_seq: r.get(0)?,
            id: r.get(1)?,
            nik: r.get(2)?,
            hlc: r.get(3)?,
            kind: r.get(4)?,
            fields: serde_json::from_str(&fields).unwrap_or(serde_json::Value::Null),
            state: r.get(6)?,
            outcome: r.get(7)?,
            reject_code: r.get(8)?,
            reject_reason: r.get(9)?,
            superseded_by: r.get(10)?,
            created_at: r.get(11)?,
            answered_at: r.get(12)?,
            held_differently: r
                .get::<_, Option<String>>(13)?
                .and_then(|t| serde_json::from_str(&t).ok()),
        })
    })?;
    Ok(iter.collect::<rusqlite::Result<_>>()?)
}

pub fn history(conn: &Connection, nik: &Nik) -> Result<Vec<ChangeRow>> {
    rows(
        conn,
        &format!("{ROW} WHERE nik = ?1 ORDER BY device_seq"),
        [nik.as_str()],
    )
}

/// Changes the server refused without holding them (see
/// [`NOT_HELD_CODES`]): still pending here, with the server's reason.
pub fn refused(conn: &Connection) -> Result<Vec<ChangeRow>> {
    rows(
        conn,
        &format!("{ROW} WHERE state = 'pending' AND reject_code IS NOT NULL ORDER BY device_seq"),
        [],
    )
}

/// Pending changes the server last answered `pending`: they wait for
/// earlier numbers of this device.
pub fn count_waiting(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM changes WHERE state = 'pending' AND outcome = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// The lowest pending change: its number and, when the server refused it
/// without holding it, the code.
pub fn first_pending(conn: &Connection) -> Result<Option<(i64, Option<String>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT device_seq, reject_code FROM changes WHERE state = 'pending'
             ORDER BY device_seq LIMIT 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Rejected changes not yet corrected.
pub fn outstanding_rejected(conn: &Connection) -> Result<Vec<ChangeRow>> {
    rows(
        conn,
        &format!("{ROW} WHERE state = 'rejected' AND superseded_by IS NULL ORDER BY device_seq"),
        [],
    )
}

/// Changes in `state`. The state is written into the statement (not
/// bound) so that the partial indexes of pending and rejected changes
/// serve the count.
pub fn count_state(conn: &Connection, state: State) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM changes WHERE state = '{}'",
        state.as_str()
    );
    Ok(conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?)
}

/// Pending changes numbered above `after`.
pub fn count_pending_after(conn: &Connection, after: u64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM changes WHERE state = 'pending' AND device_seq > ?1")?
        .query_row([i64::try_from(after).unwrap_or(i64::MAX)], |r| r.get(0))?)
}

/// The states of a change in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Acked,
    Rejected,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Acked => "acked",
            State::Rejected => "rejected",
        }
    }
}

pub fn count_outstanding_rejected(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM changes WHERE state = 'rejected' AND superseded_by IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// One pending change as the push sends it: the stored fields go on the
/// wire as they were written (the same serialisation as
/// [`sigap_shared::Fields`]), without a round trip through the type.
#[derive(Serialize)]
pub struct WireChange {
    pub id: Uuid,
    pub device_id: Uuid,
    pub device_seq: u64,
    pub nik: Nik,
    pub hlc: Hlc,
    pub kind: ChangeKind,
    pub fields: Box<serde_json::value::RawValue>,
}

/// The next pending changes numbered above `after`, in order, at most
/// `limit`.
pub fn pending_page(
    conn: &Connection,
    device: Uuid,
    after: u64,
    limit: usize,
) -> Result<Vec<WireChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_seq, id, nik, hlc, kind, fields FROM changes
         WHERE state = 'pending' AND device_seq > ?2 ORDER BY device_seq LIMIT ?1",
    )?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![i64::try_from(limit).unwrap_or(i64::MAX), after])?;
    let damaged =
        |what: &str, seq: i64| CliError::Local(t!("damaged-change", seq = seq, what = what));
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let id = r
            .get_ref(1)?
            .as_str()
            .map_err(|_| damaged(&t!("part-id"), seq))?;
        let nik = r.get_ref(2)?.as_str().map_err(|_| damaged("NIK", seq))?;
        let hlc = r
            .get_ref(3)?
            .as_str()
            .map_err(|_| damaged(&t!("part-timestamp"), seq))?;
        let kind = r
            .get_ref(4)?
            .as_str()
            .map_err(|_| damaged(&t!("part-kind"), seq))?;
        let fields: String = r.get(5)?;
        out.push(WireChange {
            id: Uuid::parse_str(id).map_err(|_| damaged(&t!("part-id"), seq))?,
            device_id: device,
            device_seq: u64::try_from(seq).map_err(|_| damaged(&t!("part-sequence"), seq))?,
            nik: Nik::parse(nik).map_err(|_| damaged("NIK", seq))?,
            hlc: Hlc::from_sortable(hlc).ok_or_else(|| damaged(&t!("part-timestamp"), seq))?,
            kind: parse_kind(kind)?,
            fields: serde_json::value::RawValue::from_string(fields)
                .map_err(|_| damaged(&t!("part-fields"), seq))?,
        });
    }
    Ok(out)
}

/// Rejection codes of changes the server does not hold: their number
/// stays a gap in the device's log, and the device's later changes wait
/// (`pending`) until it is filled. Such a change stays pending here, with
/// the reason, to be repaired and sent again (see `sync::repair`); every
/// other rejection is held and set aside for the agent to correct.
pub const NOT_HELD_CODES: [&str; 4] = [
    "clock_ahead",
    "id_reused",
    "invalid_device_seq",
    "invalid_timestamp",
];

/// Whether the server holds a change it answered so (in its log).
pub fn is_held(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Pending => false,
        Outcome::Rejected { code, .. } => !NOT_HELD_CODES.contains(&code.as_str()),
        _ => true,
    }
}

/// One answer from the server, matched to the change it is for.
pub struct Answer<'a> {
    pub device_seq: i64,
    pub outcome: &'a Outcome,
}

struct Columns<'a> {
    state: State,
    outcome: &'static str,
    code: Option<&'a str>,
    reason: Option<&'a str>,
    held_differently: Option<String>,
}

fn answer_columns(outcome: &Outcome) -> Result<Columns<'_>> {
    let plain = |state, name| Columns {
        state,
        outcome: name,
        code: None,
        reason: None,
        held_differently: None,
    };
    Ok(match outcome {
        Outcome::Applied => plain(State::Acked, "applied"),
        Outcome::Merged => plain(State::Acked, "merged"),
        Outcome::Duplicate => plain(State::Acked, "duplicate"),
        Outcome::Superseded { fields, by } => Columns {
            held_differently: Some(serde_json::to_string(
                &serde_json::json!({"fields": fields, "by": by}),
            )?),
            ..plain(State::Acked, "superseded")
        },
        Outcome::Pending => plain(State::Pending, "pending"),
        Outcome::Rejected { code, reason } => Columns {
            state: if is_held(outcome) {
                State::Rejected
            } else {
                State::Pending
            },
            outcome: "rejected",
            code: Some(code.as_str()),
            reason: Some(reason.as_str()),
            held_differently: None,
        },
    })
}

/// Records the server's answers (each already matched to a change of
/// this device, sorted by number). Runs of consecutive numbers with the
/// same outcome are written by one statement: a push answers thousands of
/// changes, nearly all "applied". Returns how many changes were updated.
pub fn record_answers(conn: &Connection, answers: &[Answer<'_>], now: &str) -> Result<usize> {
    let mut stmt = conn.prepare_cached(
        "UPDATE changes SET state = ?3, outcome = ?4, reject_code = ?5, reject_reason = ?6,
         answered_at = ?7, held_differently = ?8 WHERE device_seq BETWEEN ?1 AND ?2",
    )?;
    let mut updated = 0;
    let mut i = 0;
    while let Some(first) = answers.get(i) {
        let mut last = i;
        while let Some(next) = answers.get(last + 1) {
            let joins = next.device_seq == answers[last].device_seq + 1
                && next.outcome == first.outcome
                && !matches!(next.outcome, Outcome::Rejected { .. });
            if !joins {
                break;
            }
            last += 1;
        }
        let c = answer_columns(first.outcome)?;
        updated += stmt.execute(params![
            first.device_seq,
            answers[last].device_seq,
            c.state.as_str(),
            c.outcome,
            c.code,
            c.reason,
            now,
            c.held_differently,
        ])?;
        i = last + 1;
    }
    Ok(updated)
}

pub fn store_receipt(conn: &Connection, r: &Receipt, now: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO receipts(received_at, count, highest_seq, hash) VALUES (?1, ?2, ?3, ?4)",
        params![
            now,
            i64::try_from(r.count).unwrap_or(i64::MAX),
            i64::try_from(r.highest_seq).unwrap_or(i64::MAX),
            r.hash
        ],
    )?;
    Ok(())
}

/// The last receipt kept: (received_at, count, highest_seq, hash).
pub fn last_receipt(conn: &Connection) -> Result<Option<(String, i64, i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT received_at, count, highest_seq, hash FROM receipts ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
}

/// Changes the server has answered (so holds): (seq, id).
pub fn answered(conn: &Connection) -> Result<Vec<(i64, Uuid)>> {
    seq_ids(conn, "state IN ('acked', 'rejected')")
}

/// Every pending change: (seq, id), in order.
pub fn pending_ids(conn: &Connection) -> Result<Vec<(i64, Uuid)>> {
    seq_ids(conn, "state = 'pending'")
}

/// (seq, id) of the changes matching `filter` (a fixed SQL condition),
/// in order.
fn seq_ids(conn: &Connection, filter: &str) -> Result<Vec<(i64, Uuid)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT device_seq, id FROM changes WHERE {filter} ORDER BY device_seq"
    ))?;
    let raw = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(seq, id)| {
            Uuid::parse_str(&id)
                .map(|u| (seq, u))
                .map_err(|_| CliError::Local(t!("damaged-change", seq = seq, what = "id")))
        })
        .collect()
}

/// The highest number of a change not in `except` (ascending), or 0.
pub fn highest_except(conn: &Connection, except: &[i64]) -> Result<i64> {
    let mut stmt = conn.prepare("SELECT device_seq FROM changes ORDER BY device_seq DESC")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        if except.binary_search(&seq).is_err() {
            return Ok(seq);
        }
    }
    Ok(0)
}

/// The id of change `seq`.
pub fn id_of(conn: &Connection, seq: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT id FROM changes WHERE device_seq = ?1", [seq], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Read through the `changes_answered` index (migration 14).
const ANSWERED_AFTER: &str = "SELECT device_seq FROM changes
     WHERE device_seq > ?1 AND state <> 'pending' ORDER BY device_seq";

/// Numbers of the changes above `seq` that the server answered (in any
/// way): what a server restored to `seq` has lost.
pub fn answered_after(conn: &Connection, seq: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(ANSWERED_AFTER)?;
    let seqs = stmt
        .query_map([seq], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(seqs)
}

/// Puts answered changes back in the queue (the server lost them).
pub fn requeue(conn: &Connection, seqs: &[i64]) -> Result<usize> {
    let mut n = 0;
    let mut stmt = conn.prepare_cached(
        "UPDATE changes SET state = 'pending', outcome = NULL, reject_code = NULL,
         reject_reason = NULL, answered_at = NULL, held_differently = NULL
         WHERE device_seq = ?1 AND state <> 'pending'",
    )?;
    for s in seqs {
        n += stmt.execute([s])?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sigap_shared::{AreaCode, Change, Fields};

    /// A fresh store whose outbox holds `n` edits numbered 1 to `n`.
    fn store_with_edits(n: i64) -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("a.db"), None).unwrap();
        let nik = Nik::parse("3372015204900002").unwrap();
        let hlc = Hlc {
            millis: 1,
            counter: 0,
            device: Uuid::nil(),
        };
        for seq in 1..=n {
            append(
                &store.conn,
                &NewChange {
                    seq,
                    id: Uuid::now_v7(),
                    nik: &nik,
                    hlc,
                    kind: ChangeKind::Edit,
                    fields: "{}",
                    now: "t0",
                },
            )
            .unwrap();
        }
        (dir, store)
    }

    /// Records answers (number, outcome) at `t1`; how many changes took them.
    fn record(store: &crate::store::Store, answers: &[(i64, Outcome)]) -> usize {
        let answers: Vec<Answer<'_>> = answers
            .iter()
            .map(|(seq, outcome)| Answer {
                device_seq: *seq,
                outcome,
            })
            .collect();
        record_answers(&store.conn, &answers, "t1").unwrap()
    }

    #[test]
    fn answers_are_recorded_per_change_even_when_written_in_runs() {
        let (_dir, store) = store_with_edits(6);
        let rejected = Outcome::Rejected {
            code: "c".into(),
            reason: "r".into(),
        };
        let answers = [
            (1, Outcome::Applied),
            (2, Outcome::Applied),
            (3, Outcome::Merged),
            (4, rejected.clone()),
            (5, rejected),
        ];
        assert_eq!(record(&store, &answers), 5);
        let got: Vec<(String, Option<String>, Option<String>)> = store
            .conn
            .prepare("SELECT state, outcome, reject_code FROM changes ORDER BY device_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected = [
            ("acked", Some("applied"), None),
            ("acked", Some("applied"), None),
            ("acked", Some("merged"), None),
            ("rejected", Some("rejected"), Some("c")),
            ("rejected", Some("rejected"), Some("c")),
            ("pending", None, None),
        ];
        let expected: Vec<(String, Option<String>, Option<String>)> = expected
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.map(String::from), c.map(String::from)))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(count_state(&store.conn, State::Pending).unwrap(), 1);
        assert_eq!(count_state(&store.conn, State::Rejected).unwrap(), 2);
    }

    #[test]
    fn answered_changes_above_a_number_are_found_through_their_index() {
        let (_dir, store) = store_with_edits(6);
        let rejected = Outcome::Rejected {
            code: "c".into(),
            reason: "r".into(),
        };
        let answers = [(1, Outcome::Applied), (2, rejected), (4, Outcome::Merged)];
        record(&store, &answers);
        assert_eq!(answered_after(&store.conn, 0).unwrap(), vec![1, 2, 4]);
        assert_eq!(answered_after(&store.conn, 1).unwrap(), vec![2, 4]);
        assert_eq!(answered_after(&store.conn, 4).unwrap(), Vec::<i64>::new());
        requeue(&store.conn, &[2]).unwrap();
        assert_eq!(answered_after(&store.conn, 0).unwrap(), vec![1, 4]);
        // Every sync asks this before it sends anything: a scan of the
        // table would read the whole outbox on a device's first sync.
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {ANSWERED_AFTER}"))
            .unwrap()
            .query_map([0], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("changes_answered")),
            "{plan:?}"
        );
    }

    #[test]
    fn changes_the_server_does_not_hold_stay_pending_and_superseded_fields_are_kept() {
        let (_dir, store) = store_with_edits(5);
        let superseded = Outcome::Superseded {
            fields: vec![sigap_shared::Field::Rw, sigap_shared::Field::Rt],
            by: vec!["supervisor sari".into()],
        };
        let clock = Outcome::Rejected {
            code: "clock_ahead".into(),
            reason: "fix the laptop's clock".into(),
        };
        let held = Outcome::Rejected {
            code: "invalid_nik".into(),
            reason: "r".into(),
        };
        let answers = [
            (1, superseded),
            (2, held),
            (3, clock),
            (4, Outcome::Pending),
            (5, Outcome::Pending),
        ];
        assert_eq!(record(&store, &answers), 5);
        let h = history(&store.conn, &Nik::parse("3372015204900002").unwrap()).unwrap();
        assert_eq!(h[0].state, "acked");
        assert_eq!(
            h[0].held_differently,
            Some(serde_json::json!({"fields": ["rw", "rt"], "by": ["supervisor sari"]}))
        );
        // Held rejection: set aside. Not held: still to send, with why.
        assert_eq!(h[1].state, "rejected");
        assert_eq!(
            (h[2].state.as_str(), h[2].reject_code.as_deref()),
            ("pending", Some("clock_ahead"))
        );
        let not_held: Vec<i64> = refused(&store.conn)
            .unwrap()
            .iter()
            .map(|c| c.device_seq)
            .collect();
        assert_eq!(not_held, vec![3]);
        assert_eq!(count_waiting(&store.conn).unwrap(), 2);
        assert_eq!(count_state(&store.conn, State::Pending).unwrap(), 3);
        assert_eq!(
            first_pending(&store.conn).unwrap(),
            Some((3, Some("clock_ahead".to_string())))
        );
        // Answered later as held, a change loses its old refusal.
        let applied = [Answer {
            device_seq: 3,
            outcome: &Outcome::Applied,
        }];
        record_answers(&store.conn, &applied, "t2").unwrap();
        assert!(refused(&store.conn).unwrap().is_empty());
    }

    #[test]
    fn a_pending_change_goes_on_the_wire_exactly_as_the_shared_type_would_send_it() {
        let fields = Fields {
            name: Some("Siti \"Ani\" Aminah".into()),
            kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
            rw: Some(3),
            rt: Some(5),
            ..Fields::default()
        };
        let change = Change {
            id: Uuid::now_v7(),
            device_id: Uuid::now_v7(),
            device_seq: 42,
            nik: Nik::parse("3372015204900002").unwrap(),
            hlc: Hlc {
                millis: 1_764_000_000_000,
                counter: 3,
                device: Uuid::now_v7(),
            },
            kind: ChangeKind::Edit,
            fields: fields.clone(),
        };
        let wire = WireChange {
            id: change.id,
            device_id: change.device_id,
            device_seq: change.device_seq,
            nik: change.nik.clone(),
            hlc: change.hlc,
            kind: change.kind,
            fields: serde_json::value::RawValue::from_string(
                serde_json::to_string(&fields).unwrap(),
            )
            .unwrap(),
        };
        let sent = serde_json::to_string(&wire).unwrap();
        assert_eq!(sent, serde_json::to_string(&change).unwrap());
        let back: Change = serde_json::from_str(&sent).unwrap();
        assert_eq!(back, change);
    }
}
