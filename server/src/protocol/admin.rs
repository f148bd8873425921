//! The server's own writes: membership-roll imports and a supervisor's or
//! admin's changes (resolutions, moves, erasures), each a change with an
//! author.

use sigap_shared::merge::{Fields, PersonRecord};
use sigap_shared::wire::{Change, ChangeKind};
use sigap_shared::{Hlc, Nik};
use time::Date;
use uuid::Uuid;

use super::push::{ChangeText, ClaimBy, ROLL_NAME, add_claim, log_row};
use super::writer::{Known, Stored, Writer};
use super::{Closing, Tx, corrupt};
use crate::claims;
use crate::engine::{self, ROLL_DEVICE, SERVER_DEVICE};
use crate::store::{Conflict, ImportSummary, RollRow, StoreError};

/// Imports membership-roll rows that say who was a participant on `as_of`.
pub async fn import_participants<T: Tx>(
    tx: &mut T,
    rows: &[RollRow],
    as_of: Date,
) -> Result<ImportSummary, StoreError> {
    // The roll writes at millis 0, so any field write (which carries a
    // real clock) wins over it; later imports win over earlier ones.
    let import_no = tx.next_roll_import().await?;
    let hlc = Hlc {
        millis: 0,
        counter: u32::try_from(import_no).unwrap_or(u32::MAX),
        device: ROLL_DEVICE,
    };
    let mut summary = ImportSummary::default();
    let mut w = Writer::new(tx);
    let chunks: Vec<&[RollRow]> = rows.chunks(super::IMPORT_CHUNK).collect();
    if let Some(first) = chunks.first() {
        w.tx.prefetch_persons(&niks_of(first)).await?;
    }
    for (i, chunk) in chunks.iter().enumerate() {
        // The next part is read while this one is worked out, and this
        // one written while the next is: a backend across a network keeps
        // the database busy while the server works.
        if let Some(next) = chunks.get(i + 1) {
            w.tx.read_ahead(&niks_of(next)).await?;
        }
        for row in *chunk {
            let fields = Fields {
                kelurahan: Some(row.kelurahan),
                rw: Some(row.rw),
                rt: Some(row.rt),
                category: Some(row.category),
                ..Default::default()
            };
            match w.load(&row.nik).await? {
                Some(mut p) => {
                    let before = p.record.fields.clone();
                    p.record.apply(&fields, hlc);
                    // The earliest date the roll listed the person: a
                    // participant since always (`None`) stays so.
                    let roll_as_of = if p.participant {
                        p.roll_as_of.map(|d| d.min(as_of))
                    } else {
                        Some(as_of)
                    };
                    if p.participant && before == p.record.fields && roll_as_of == p.roll_as_of {
                        summary.unchanged += 1;
                        continue;
                    }
                    p.participant = true;
                    p.roll_as_of = roll_as_of;
                    p.review = engine::review_json(&p.record);
                    w.save(&mut p, Known::Nothing, ROLL_DEVICE, None).await?;
                    summary.joined += 1;
                }
                None => {
                    let mut p = Stored {
                        participant: true,
                        roll_as_of: Some(as_of),
                        ..Stored::new(PersonRecord::from_write(row.nik.clone(), &fields, hlc))
                    };
                    w.save(&mut p, Known::Nothing, ROLL_DEVICE, Some(ROLL_NAME))
                        .await?;
                    summary.created += 1;
                }
            }
        }
        w.tx.write_so_far().await?;
    }
    w.flush().await?;
    Ok(summary)
}

fn niks_of(rows: &[RollRow]) -> Vec<&Nik> {
    rows.iter().map(|r| &r.nik).collect()
}

/// Applies the supervisor's chosen identity values to conflict `id`'s
/// person and closes it; the conflict as it then stands.
pub async fn resolve_conflict<T: Tx>(
    tx: &mut T,
    id: i64,
    fields: &Fields,
    note: Option<&str>,
    by: &str,
    now: i64,
) -> Result<Conflict, StoreError> {
    let conflict = tx
        .load_conflict(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no conflict with id {id}")))?;
    if conflict.status != "open" {
        return Err(StoreError::Invalid {
            code: "conflict_resolved".into(),
            message: format!("conflict {id} is already resolved"),
        });
    }
    let stamp_at = u64::try_from(now).unwrap_or(0);
    write_as(
        tx,
        &conflict.nik,
        fields,
        note,
        by,
        &format!("supervisor {by}"),
        now,
        |record| engine::server_hlc(record, stamp_at),
    )
    .await?;
    tx.load_conflict(id)
        .await?
        .ok_or_else(|| corrupt("conflict vanished"))
}

/// Applies a server-side write to `nik` (a resolution's identity values,
/// a move, an erasure) as a change with an author named `author`, stamped
/// by `stamp` (given the record); a write of identity values closes the
/// person's open conflict. Returns the merged record.
#[allow(clippy::too_many_arguments)]
pub async fn write_as<T: Tx>(
    tx: &mut T,
    nik: &Nik,
    fields: &Fields,
    note: Option<&str>,
    by: &str,
    author: &str,
    now: i64,
    stamp: impl FnOnce(&PersonRecord) -> Hlc,
) -> Result<PersonRecord, StoreError> {
    let mut w = Writer::new(tx);
    let mut p = w
        .load(nik)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no person with NIK {}", nik.masked())))?;
    let hlc = stamp(&p.record);
    // Judged like a device's edit: on what it carries; the merged
    // record's rules go to the review list.
    if let Some(first) = fields
        .carried_errors(nik, engine::hlc_date(&hlc))
        .into_iter()
        .next()
    {
        return Err(StoreError::Invalid {
            code: first.code,
            message: first.message,
        });
    }
    let old = p.record.clone();
    p.record.apply(fields, hlc);
    p.review = engine::review_json(&p.record);
    let audit = Change {
        id: Uuid::now_v7(),
        device_id: SERVER_DEVICE,
        device_seq: 0,
        nik: nik.clone(),
        hlc,
        kind: ChangeKind::Edit,
        fields: fields.clone(),
    };
    let resolution = serde_json::to_string(fields).map_err(corrupt)?;
    if claims::writes_identity(fields) {
        // Closed first: the claims below then settle it, and open a new
        // conflict only if sources still disagree after the resolution.
        w.tx.close_conflicts(
            nik,
            &Closing {
                at: now,
                by,
                resolution: &resolution,
                note,
            },
        )
        .await?;
        add_claim(
            w.tx,
            &mut p,
            &old,
            ClaimBy {
                source: SERVER_DEVICE,
                change: audit.id,
                hlc: &hlc,
                agent: author,
            },
            fields,
            now,
        )
        .await?;
    }
    let latest = old.last_write().is_none_or(|l| hlc >= l);
    w.save(
        &mut p,
        Known::Nothing,
        SERVER_DEVICE,
        latest.then_some(author),
    )
    .await?;
    let text = ChangeText::of(&audit)?;
    w.tx.log_change(&log_row(&audit, &text, false, by, now, "applied", None))
        .await?;
    w.flush().await?;
    Ok(p.record)
}
