//! A push, answered change by change (docs/sync-api.md).

use std::collections::HashMap;

use sigap_shared::merge::{Fields, PersonRecord};
use sigap_shared::wire::{
    Change, ChangeKind, ChangeResult, Outcome, PROTOCOL_VERSION, PushRequest, PushResponse,
    Receipt, ReceiptHash,
};
use sigap_shared::{AreaCode, Hlc, Nik};
use uuid::Uuid;

use super::writer::{Known, RtDeltas, Stored, Writer, flush_deltas, record_json};
use super::{ConflictRow, DeviceSave, LogRow, Tx, corrupt, to_i64};
use crate::claims::{self, Claims};
use crate::engine::{self, Decision, ROLL_DEVICE, SERVER_DEVICE};
use crate::store::{ConflictSide, Pusher, StoreError};

/// How the feed names the membership roll as a writer.
pub(super) const ROLL_NAME: &str = "membership roll";

/// What can be worked out for a change before a write transaction starts
/// (so while another push holds the writer): its stored text, the verdict
/// of the checks on the change alone, and what it does to a person the
/// server has never seen (the common case: a first registration), with
/// that person's stored JSON and review.
pub struct Prepared {
    text: ChangeText,
    refused: Option<Decision>,
    if_new: Decision,
    if_new_json: Option<String>,
    if_new_review: Option<String>,
    /// The change id's part of the device's receipt hash.
    digest: [u8; 32],
}

impl Prepared {
    fn of(change: &Change, sender: &engine::Sender<'_>) -> Result<Prepared, StoreError> {
        let text = ChangeText::of(change)?;
        let refused = engine::check(change, sender);
        let if_new = engine::decide(None, false, change, sender.areas);
        let (if_new_json, if_new_review) = match &if_new {
            Decision::Accepted { record, .. } => (
                Some(if record.fields == change.fields {
                    record_json(record, Some(&text.fields))?
                } else {
                    record_json(record, None)?
                }),
                // A registration that passed `check` is, as a new person,
                // a record with nothing to review: checked once, not twice.
                if refused.is_none() && change.kind == ChangeKind::Register {
                    None
                } else {
                    engine::review_json(record)
                },
            ),
            Decision::Rejected { .. } => (None, None),
        };
        Ok(Prepared {
            text,
            refused,
            if_new,
            if_new_json,
            if_new_review,
            digest: ReceiptHash::digest(&change.id),
        })
    }
}

/// Prepares every change of a push (see [`Prepared`]).
pub fn prepare(req: &PushRequest, by: &Pusher<'_>, now: i64) -> Result<Vec<Prepared>, StoreError> {
    let sender = sender(by, now);
    req.changes
        .iter()
        .map(|c| Prepared::of(c, &sender))
        .collect()
}

fn sender<'a>(by: &Pusher<'a>, now: i64) -> engine::Sender<'a> {
    engine::Sender {
        areas: by.areas,
        now_millis: u64::try_from(now).unwrap_or(0),
        max_skew_millis: by.max_skew_millis,
    }
}

/// Answers one push inside the caller's write transaction (which the
/// caller commits before answering).
pub async fn push<T: Tx>(
    tx: &mut T,
    by: &Pusher<'_>,
    req: &PushRequest,
    prepared: Vec<Prepared>,
    now: i64,
) -> Result<PushResponse, StoreError> {
    let (response, deltas) = push_deferred(tx, by, req, prepared, now).await?;
    flush_deltas(tx, deltas).await?;
    Ok(response)
}

/// [`push`] without writing its counter changes, which it returns: the
/// caller writes them ([`super::flush_deltas`]) in the same transaction
/// before it commits (a group of pushes sharing a commit writes theirs
/// once, summed).
pub async fn push_deferred<T: Tx>(
    tx: &mut T,
    by: &Pusher<'_>,
    req: &PushRequest,
    prepared: Vec<Prepared>,
    now: i64,
) -> Result<(PushResponse, RtDeltas), StoreError> {
    // Loaded first: a backend with several writers locks the device's
    // row here, so the claim below cannot race another server's.
    let receipt = tx.load_device(&req.device_id).await?;
    claim(tx, &req.device_id, by.token_id).await?;
    let mut dev = DeviceRow {
        id: req.device_id,
        count: receipt.count,
        highest_seq: receipt.highest_seq,
        hash: ReceiptHash::from_hex(&receipt.hash).ok_or_else(|| corrupt("device receipt hash"))?,
        max_logged: receipt.max_seq,
    };
    let mut w = Writer::new(tx);
    let mut results = Vec::with_capacity(req.changes.len());
    for (change, prepared) in req.changes.iter().zip(prepared) {
        let outcome = push_one(&mut w, &mut dev, by, change, prepared, now).await?;
        results.push(ChangeResult {
            id: change.id,
            device_seq: change.device_seq,
            outcome,
        });
    }
    let deltas = w.into_deltas();
    for r in &results {
        if matches!(r.outcome, Outcome::Rejected { .. }) && !tx.change_logged(&r.id).await? {
            tx.count_unlogged_rejection(by.token_name, now).await?;
        }
    }
    let receipt = Receipt {
        device_id: req.device_id,
        count: dev.count,
        highest_seq: dev.highest_seq,
        max_seq: dev.max_logged,
        hash: dev.hash.to_hex(),
    };
    tx.save_device(&DeviceSave {
        receipt: &receipt,
        token_id: by.token_id,
        last_push_at: now,
        pending: req.pending.map(to_i64).transpose()?,
    })
    .await?;
    Ok((
        PushResponse {
            protocol: PROTOCOL_VERSION,
            results,
            receipt,
        },
        deltas,
    ))
}

/// What the server holds from one device, kept up to date per push.
struct DeviceRow {
    id: Uuid,
    count: u64,
    /// Every number up to it is held: the next change to apply is
    /// `highest_seq + 1`.
    highest_seq: u64,
    hash: ReceiptHash,
    /// The highest number in the device's log. A change numbered above it
    /// cannot reuse a number, so it skips that lookup (the fast path).
    max_logged: u64,
}

impl DeviceRow {
    /// Counts a change just logged under its number.
    async fn hold<T: Tx>(
        &mut self,
        tx: &mut T,
        seq: u64,
        digest: &[u8; 32],
    ) -> Result<(), StoreError> {
        self.count += 1;
        self.hash.add_digest(digest);
        self.max_logged = self.max_logged.max(seq);
        if seq == self.highest_seq + 1 {
            self.highest_seq = seq;
            // Numbers above a gap, logged before changes waited for their
            // turn (by servers before protocol 2), join once it closes.
            while self.highest_seq < self.max_logged
                && tx
                    .logged_at(&self.id, to_i64(self.highest_seq + 1)?)
                    .await?
                    .is_some()
            {
                self.highest_seq += 1;
            }
        }
        Ok(())
    }
}

pub(super) fn kind_str(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Register => "register",
        ChangeKind::Edit => "edit",
        ChangeKind::Void => "void",
    }
}

/// The text forms of a change that are stored, made once per change: the
/// audit row and the person's record both use them.
pub(super) struct ChangeText {
    pub fields: String,
    pub hlc: String,
}

impl ChangeText {
    pub fn of(change: &Change) -> Result<ChangeText, StoreError> {
        Ok(ChangeText {
            fields: serde_json::to_string(&change.fields).map_err(corrupt)?,
            hlc: change.hlc.to_sortable(),
        })
    }
}

/// The audit row of `change`.
#[allow(clippy::too_many_arguments)]
pub(super) fn log_row<'a>(
    change: &'a Change,
    text: &'a ChangeText,
    in_log: bool,
    agent: &'a str,
    now: i64,
    outcome: &'a str,
    reject: Option<(&'a str, &'a str)>,
) -> LogRow<'a> {
    LogRow {
        id: change.id,
        device_id: change.device_id,
        device_seq: i64::try_from(change.device_seq).unwrap_or(i64::MAX),
        in_log,
        nik: change.nik.as_str(),
        hlc: &text.hlc,
        kind: kind_str(change.kind),
        fields: &text.fields,
        agent,
        received_at: now,
        outcome,
        reject_code: reject.map(|r| r.0),
        reject_reason: reject.map(|r| r.1),
    }
}

/// The answer to a change whose id is stored: the earlier answer when it
/// is the same change sent again, `id_reused` when it carries other
/// content (never silently dropped as a duplicate).
async fn answer_again<T: Tx>(
    tx: &mut T,
    change: &Change,
    text: &ChangeText,
) -> Result<Option<Outcome>, StoreError> {
    let Some(seen) = tx.earlier_change(&change.id).await? else {
        return Ok(None);
    };
    let same = seen.device_id == change.device_id
        && u64::try_from(seen.device_seq).ok() == Some(change.device_seq)
        && seen.nik == change.nik.as_str()
        && seen.hlc == text.hlc
        && seen.kind == kind_str(change.kind)
        && seen.fields == text.fields;
    if !same {
        return Ok(Some(rejected(
            "id_reused",
            format!(
                "change id {} was sent before with other content; every change needs an id of its own: `sigap sync` gives this change a new one and sends it again (do not delete the outbox)",
                change.id
            ),
        )));
    }
    Ok(Some(if seen.outcome == "rejected" {
        rejected(
            &seen.reject_code.unwrap_or_default(),
            seen.reject_reason.unwrap_or_default(),
        )
    } else {
        Outcome::Duplicate
    }))
}

fn rejected(code: &str, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code: code.to_string(),
        reason: reason.into(),
    }
}

/// Refuses when another token holds `device` (the push binds it to
/// `token_id` when it writes the device's row).
pub async fn claim<T: Tx>(tx: &mut T, device: &Uuid, token_id: i64) -> Result<(), StoreError> {
    match tx.device_owner(device).await? {
        Some(Some(owner)) if owner != token_id => {
            let name = tx.token_name(owner).await?;
            Err(StoreError::Denied {
                code: "device_not_yours".into(),
                message: format!(
                    "device {device} belongs to another token ({}); each laptop syncs with the token it was set up with: run `sigap init --token` with that token, or ask an admin",
                    name.unwrap_or_else(|| format!("#{owner}"))
                ),
            })
        }
        _ => Ok(()),
    }
}

/// How people name the source of a stamp: an agent's token name,
/// `supervisor` or `membership roll`.
async fn writer_name<T: Tx>(tx: &mut T, device: &Uuid) -> Result<String, StoreError> {
    if *device == ROLL_DEVICE {
        return Ok(ROLL_NAME.into());
    }
    if *device == SERVER_DEVICE {
        return Ok("supervisor".into());
    }
    Ok(tx
        .device_agent(device)
        .await?
        .unwrap_or_else(|| format!("device {device}")))
}

async fn push_one<T: Tx>(
    w: &mut Writer<'_, T>,
    dev: &mut DeviceRow,
    by: &Pusher<'_>,
    change: &Change,
    prepared: Prepared,
    now: i64,
) -> Result<Outcome, StoreError> {
    let device = dev.id;
    let Prepared {
        text,
        refused,
        if_new,
        if_new_json,
        if_new_review,
        digest,
    } = prepared;
    if change.device_id != device {
        return Ok(rejected(
            "device_mismatch",
            format!(
                "change {} belongs to device {}, but the batch is from device {device}; push each device's changes separately",
                change.id, change.device_id
            ),
        ));
    }
    if change.device_seq == 0 || i64::try_from(change.device_seq).is_err() {
        return Ok(rejected(
            "invalid_device_seq",
            format!(
                "change {} has number {}; a device numbers its changes 1, 2, 3… (at most {}): the device's outbox is damaged, contact support",
                change.id,
                change.device_seq,
                i64::MAX
            ),
        ));
    }
    // A change numbered above everything the device has logged is new
    // unless its id was used before (caught when it is logged below);
    // anything else is checked against the log first.
    if change.device_seq <= dev.max_logged {
        if let Some(answer) = answer_again(w.tx, change, &text).await? {
            return Ok(answer);
        }
        if let Some(reason) = seq_taken(w.tx, device, change).await? {
            let row = log_row(
                change,
                &text,
                false,
                by.token_name,
                now,
                "rejected",
                Some(("seq_conflict", &reason)),
            );
            w.tx.log_change(&row).await?;
            return Ok(rejected("seq_conflict", reason));
        }
    }
    // A device's changes take effect in its own order, however its pages
    // arrive: one whose earlier numbers are not all held waits.
    if change.device_seq > dev.highest_seq + 1 {
        return Ok(Outcome::Pending);
    }
    if let Some(Decision::Rejected { code, reason, held }) = refused {
        if held {
            let row = log_row(
                change,
                &text,
                true,
                by.token_name,
                now,
                "rejected",
                Some((&code, &reason)),
            );
            if !w.tx.log_change(&row).await? {
                return reused(w.tx, change, &text).await;
            }
            dev.hold(w.tx, change.device_seq, &digest).await?;
        }
        return Ok(Outcome::Rejected { code, reason });
    }
    let stored = w.load(&change.nik).await?;
    let (decision, mut known, review) = match &stored {
        None => (
            if_new,
            if_new_json.map_or(Known::Nothing, Known::Record),
            if_new_review,
        ),
        Some(s) => {
            let d = engine::decide(Some(&s.record), s.participant, change, by.areas);
            let review = match &d {
                Decision::Accepted { record, .. } => engine::review_json(record),
                Decision::Rejected { .. } => None,
            };
            (d, Known::Nothing, review)
        }
    };
    let (outcome, reject) = match &decision {
        Decision::Rejected { code, reason, .. } => {
            ("rejected", Some((code.as_str(), reason.as_str())))
        }
        Decision::Accepted { merged: true, .. } => ("merged", None),
        Decision::Accepted { merged: false, .. } => ("applied", None),
    };
    let row = log_row(change, &text, true, by.token_name, now, outcome, reject);
    if !w.tx.log_change(&row).await? {
        return reused(w.tx, change, &text).await;
    }
    dev.hold(w.tx, change.device_seq, &digest).await?;
    let (record, merged, changed, superseded) = match decision {
        Decision::Rejected { code, reason, .. } => return Ok(Outcome::Rejected { code, reason }),
        Decision::Accepted {
            record,
            merged,
            changed,
            superseded,
        } => (record, merged, changed, superseded),
    };
    let (old_record, mut p) = match stored {
        Some(mut s) => {
            let old = std::mem::replace(&mut s.record, record);
            (Some(old), s)
        }
        None => (None, Stored::new(record)),
    };
    let mut dirty = !changed.is_empty() || p.review != review;
    if let Some(old) = &old_record
        && claims::writes_identity(&change.fields)
    {
        dirty |= add_claim(
            w.tx,
            &mut p,
            old,
            ClaimBy {
                source: device,
                change: change.id,
                hlc: &change.hlc,
                agent: by.token_name,
            },
            &change.fields,
            now,
        )
        .await?;
    }
    p.review = review;
    if change.kind == ChangeKind::Register
        && p.registered_hlc.as_ref().is_none_or(|h| text.hlc < *h)
    {
        p.registered_by = Some(by.token_name.to_string());
        p.registered_at = Some(i64::try_from(change.hlc.millis).unwrap_or(i64::MAX));
        p.registered_hlc = Some(text.hlc.clone());
        dirty = true;
    }
    if dirty {
        // A change that leaves the record's fields equal to its own has
        // their JSON made already.
        if matches!(known, Known::Nothing) && p.record.fields == change.fields {
            known = Known::Fields(&text.fields);
        }
        let latest = old_record
            .as_ref()
            .and_then(PersonRecord::last_write)
            .is_none_or(|l| change.hlc >= l);
        w.save(&mut p, known, device, latest.then_some(by.token_name))
            .await?;
    }
    if !superseded.is_empty() {
        let mut names = Vec::new();
        for f in &superseded {
            if let Some(stamp) = p.record.stamps.0.get(f) {
                let name = writer_name(w.tx, &stamp.device).await?;
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        return Ok(Outcome::Superseded {
            fields: superseded,
            by: names,
        });
    }
    Ok(if merged {
        Outcome::Merged
    } else {
        Outcome::Applied
    })
}

/// The answer to a change whose id could not be logged: an id stored
/// before under another number.
async fn reused<T: Tx>(
    tx: &mut T,
    change: &Change,
    text: &ChangeText,
) -> Result<Outcome, StoreError> {
    Ok(answer_again(tx, change, text).await?.unwrap_or_else(|| {
        // Logging fails only on a stored id or number; the number was
        // checked, so this is not reached, and is never a "duplicate".
        rejected(
            "seq_conflict",
            format!(
                "change {} could not be logged under number {}; contact support",
                change.id, change.device_seq
            ),
        )
    }))
}

async fn seq_taken<T: Tx>(
    tx: &mut T,
    device: Uuid,
    change: &Change,
) -> Result<Option<String>, StoreError> {
    let seq = i64::try_from(change.device_seq).unwrap_or(i64::MAX);
    let Some(other) = tx.logged_at(&device, seq).await? else {
        return Ok(None);
    };
    Ok(Some(format!(
        "device {device} already sent change {other} as number {}; this change {} reuses the number, so the device's outbox log is inconsistent: contact support, do not delete the outbox",
        change.device_seq, change.id
    )))
}

/// Who makes an identity claim.
pub(super) struct ClaimBy<'a> {
    pub source: Uuid,
    pub change: Uuid,
    pub hlc: &'a Hlc,
    pub agent: &'a str,
}

/// Takes a write of identity fields into the person's claims, made from
/// `old` (the record before the write) when a second source first writes,
/// and brings the person's open conflict in line with them. Returns
/// whether the stored claims changed.
pub(super) async fn add_claim<T: Tx>(
    tx: &mut T,
    p: &mut Stored,
    old: &PersonRecord,
    by: ClaimBy<'_>,
    fields: &Fields,
    now: i64,
) -> Result<bool, StoreError> {
    let mut claims = match &p.claims {
        Some(text) => serde_json::from_str::<Claims>(text).map_err(corrupt)?,
        None => {
            let sources = claims::identity_sources(old);
            if sources.iter().all(|s| *s == by.source) {
                // One source so far: its record is its claim.
                return Ok(false);
            }
            // Who wrote each stamp, looked up before the claims are made.
            let mut writers: HashMap<Hlc, Option<(String, Uuid)>> = HashMap::new();
            for f in sigap_shared::merge::Field::IDENTITY {
                if let Some(stamp) = old.stamps.0.get(&f)
                    && stamp.device != ROLL_DEVICE
                    && !writers.contains_key(stamp)
                {
                    let found = tx.change_at(&old.nik, &stamp.to_sortable()).await?;
                    writers.insert(*stamp, found);
                }
            }
            Claims::from_record(old, |hlc| {
                Ok::<_, StoreError>(writers.get(hlc).cloned().flatten())
            })?
        }
    };
    claims.add(by.source, fields, by.hlc, Some(by.change), Some(by.agent));
    p.claims = Some(serde_json::to_string(&claims).map_err(corrupt)?);
    sync_conflict(tx, &old.nik, p.record.fields.kelurahan, &claims, now).await?;
    Ok(true)
}

/// Makes the person's open conflict what the claims say: opened, updated,
/// or gone when the sources agree again.
async fn sync_conflict<T: Tx>(
    tx: &mut T,
    nik: &Nik,
    kelurahan: Option<AreaCode>,
    claims: &Claims,
    now: i64,
) -> Result<(), StoreError> {
    let open_row = tx.open_conflict(nik).await?;
    let Some(open) = claims.open() else {
        if let Some(id) = open_row {
            tx.delete_conflict(id).await?;
        }
        return Ok(());
    };
    let side = |(source, claim): &(Uuid, claims::Claim)| ConflictSide {
        source: engine::source_name(source),
        agent: claim.agent.clone(),
        fields: claim.values(&open.fields),
    };
    let names = serde_json::to_string(&open.fields).map_err(corrupt)?;
    let existing = serde_json::to_string(&side(&open.first)).map_err(corrupt)?;
    let incoming = serde_json::to_string(&side(&open.last)).map_err(corrupt)?;
    let row = ConflictRow {
        nik: nik.as_str(),
        kelurahan: kelurahan.map(|k| k.to_string()),
        fields: &names,
        existing: &existing,
        incoming: &incoming,
        change_id: open.last.1.change.unwrap_or_default(),
        opened_at: now,
    };
    tx.write_conflict(open_row, &row).await?;
    if open_row.is_none() {
        tracing::info!(nik = %nik.masked(), "identity conflict opened");
    }
    Ok(())
}
