//! The per-table copiers of the batched steps: laptops (devices),
//! persons, the change log, conflicts and visits.

use std::collections::HashMap;

use rusqlite::params;
use sigap_shared::{AreaCode, Category};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::batched::{Batched, after_id, after_int, all_written};
use super::source::{coverage_key, opt_uuid, uuid_of};
use super::{Ctx, len_i64};
use crate::commands::CommandError;
use crate::engine;

pub(super) struct Devices;
pub(super) struct DeviceRow {
    device_id: Uuid,
    count: i64,
    highest_seq: i64,
    max_seq: i64,
    hash: String,
    token_id: Option<i64>,
    last_push_at: Option<i64>,
    pending: Option<i64>,
}

impl Batched for Devices {
    const STEP: &'static str = "devices";
    type Row = DeviceRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<DeviceRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT device_id, count, highest_seq, max_seq, hash, token_id, last_push_at, pending
             FROM devices WHERE device_id > ?1 ORDER BY device_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                DeviceRow {
                    device_id: Uuid::nil(),
                    count: r.get(1)?,
                    highest_seq: r.get(2)?,
                    max_seq: r.get(3)?,
                    hash: r.get(4)?,
                    token_id: r.get(5)?,
                    last_push_at: r.get(6)?,
                    pending: r.get(7)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, mut row) = r?;
            row.device_id = uuid_of(&id)?;
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &DeviceRow) -> String {
        row.device_id.to_string()
    }

    async fn write(
        ctx: &Ctx,
        tx: &Transaction<'_>,
        rows: &[DeviceRow],
    ) -> Result<(), CommandError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
        let count: Vec<i64> = rows.iter().map(|r| r.count).collect();
        let highest: Vec<i64> = rows.iter().map(|r| r.highest_seq).collect();
        let max: Vec<i64> = rows.iter().map(|r| r.max_seq).collect();
        let hash: Vec<&str> = rows.iter().map(|r| r.hash.as_str()).collect();
        let token: Vec<Option<i64>> = rows
            .iter()
            .map(|r| ctx.token_id(r.token_id))
            .collect::<Result<_, _>>()?;
        let last: Vec<Option<i64>> = rows.iter().map(|r| r.last_push_at).collect();
        let pending: Vec<Option<i64>> = rows.iter().map(|r| r.pending).collect();
        let n = tx
            .execute(
                "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id,
                                      last_push_at, pending)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[],
                                      $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
                 ON CONFLICT DO NOTHING",
                &[&ids, &count, &highest, &max, &hash, &token, &last, &pending],
            )
            .await?;
        all_written(n, rows.len(), "laptops (devices)")
    }
}

pub(super) struct Persons;
pub(super) struct PersonRow {
    seq: i64,
    nik: String,
    record: String,
    kelurahan: Option<String>,
    participant: bool,
    registered_by: Option<String>,
    registered_hlc: Option<String>,
    registered_at: Option<i64>,
    sole_device: Option<Uuid>,
    review: Option<String>,
    last_changed_by: Option<String>,
    claims: Option<String>,
    roll_as_of: Option<String>,
}

impl Batched for Persons {
    const STEP: &'static str = "persons";
    type Row = PersonRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<PersonRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT seq, nik, record, kelurahan, participant, registered_by, registered_hlc,
                    registered_at, sole_device, review, last_changed_by, claims, roll_as_of
             FROM persons WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_int(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Option<Vec<u8>>>(8)?,
                PersonRow {
                    seq: r.get(0)?,
                    nik: r.get(1)?,
                    record: r.get(2)?,
                    kelurahan: r.get(3)?,
                    participant: r.get(4)?,
                    registered_by: r.get(5)?,
                    registered_hlc: r.get(6)?,
                    registered_at: r.get(7)?,
                    sole_device: None,
                    review: r.get(9)?,
                    last_changed_by: r.get(10)?,
                    claims: r.get(11)?,
                    roll_as_of: r.get(12)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (sole, mut row) = r?;
            row.sole_device = opt_uuid(sole)?;
            row.registered_by = ctx.names.opt(row.registered_by);
            row.last_changed_by = ctx.names.opt(row.last_changed_by);
            row.claims = ctx.names.opt_json(row.claims)?;
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &PersonRow) -> String {
        row.seq.to_string()
    }

    async fn write(
        ctx: &Ctx,
        tx: &Transaction<'_>,
        rows: &[PersonRow],
    ) -> Result<(), CommandError> {
        // Their coverage first, in the order the servers' pushes add to
        // the counters (so the two never wait on each other in a circle).
        let mut buckets: HashMap<(AreaCode, Category, i32), i64> = HashMap::new();
        for p in rows {
            let key = coverage_key(
                &p.record,
                p.participant,
                p.roll_as_of.as_deref(),
                p.registered_at,
            )?;
            engine::add_deltas(&mut buckets, &None, &key);
        }
        let mut deltas: Vec<(String, &'static str, i32, i64)> = buckets
            .into_iter()
            .filter(|(_, d)| *d != 0)
            .map(|((a, c, y), d)| (a.to_string(), c.as_str(), y, d))
            .collect();
        deltas.sort();
        if !deltas.is_empty() {
            let areas: Vec<&str> = deltas.iter().map(|d| d.0.as_str()).collect();
            let cats: Vec<&str> = deltas.iter().map(|d| d.1).collect();
            let years: Vec<i32> = deltas.iter().map(|d| d.2).collect();
            let ds: Vec<i64> = deltas.iter().map(|d| d.3).collect();
            tx.execute(
                "INSERT INTO counters (area, category, since_year, covered)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::integer[], $4::bigint[])
                 ON CONFLICT (area, category, since_year, stripe)
                 DO UPDATE SET covered = counters.covered + excluded.covered",
                &[&areas, &cats, &years, &ds],
            )
            .await?;
            tx.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'generation'",
                &[],
            )
            .await?;
        }
        let seqs: Vec<i64> = rows.iter().map(|p| ctx.temp_seq(p.seq)).collect();
        let niks: Vec<&str> = rows.iter().map(|p| p.nik.as_str()).collect();
        let records: Vec<&str> = rows.iter().map(|p| p.record.as_str()).collect();
        let kel: Vec<Option<&str>> = rows.iter().map(|p| p.kelurahan.as_deref()).collect();
        let part: Vec<bool> = rows.iter().map(|p| p.participant).collect();
        let reg_by: Vec<Option<&str>> = rows.iter().map(|p| p.registered_by.as_deref()).collect();
        let reg_hlc: Vec<Option<&str>> = rows.iter().map(|p| p.registered_hlc.as_deref()).collect();
        let reg_at: Vec<Option<i64>> = rows.iter().map(|p| p.registered_at).collect();
        let sole: Vec<Option<Uuid>> = rows.iter().map(|p| p.sole_device).collect();
        let review: Vec<Option<&str>> = rows.iter().map(|p| p.review.as_deref()).collect();
        let last_by: Vec<Option<&str>> =
            rows.iter().map(|p| p.last_changed_by.as_deref()).collect();
        let claims: Vec<Option<&str>> = rows.iter().map(|p| p.claims.as_deref()).collect();
        let as_of: Vec<Option<&str>> = rows.iter().map(|p| p.roll_as_of.as_deref()).collect();
        let n = tx
            .execute(
                "INSERT INTO persons (seq, nik, record, kelurahan, participant, registered_by,
                                      registered_hlc, registered_at, sole_device, review,
                                      last_changed_by, claims, roll_as_of)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[],
                                      $5::boolean[], $6::text[], $7::text[], $8::bigint[],
                                      $9::uuid[], $10::text[], $11::text[], $12::text[],
                                      $13::text[])
                 ON CONFLICT DO NOTHING",
                &[
                    &seqs, &niks, &records, &kel, &part, &reg_by, &reg_hlc, &reg_at, &sole,
                    &review, &last_by, &claims, &as_of,
                ],
            )
            .await?;
        all_written(n, rows.len(), "persons")
    }
}

pub(super) struct Changes;
pub(super) struct ChangeRow {
    id: Uuid,
    device_id: Uuid,
    device_seq: i64,
    in_log: bool,
    nik: String,
    hlc: String,
    kind: String,
    fields: String,
    agent: String,
    received_at: i64,
    outcome: String,
    reject_code: Option<String>,
    reject_reason: Option<String>,
}

impl Batched for Changes {
    const STEP: &'static str = "changes";
    type Row = ChangeRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<ChangeRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT id, device_id, device_seq, in_log, nik, hlc, kind, fields, agent,
                    received_at, outcome, reject_code, reject_reason
             FROM changes WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                ChangeRow {
                    id: Uuid::nil(),
                    device_id: Uuid::nil(),
                    device_seq: r.get(2)?,
                    in_log: r.get(3)?,
                    nik: r.get(4)?,
                    hlc: r.get(5)?,
                    kind: r.get(6)?,
                    fields: r.get(7)?,
                    agent: r.get(8)?,
                    received_at: r.get(9)?,
                    outcome: r.get(10)?,
                    reject_code: r.get(11)?,
                    reject_reason: r.get(12)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, device, mut row) = r?;
            row.id = uuid_of(&id)?;
            row.device_id = uuid_of(&device)?;
            row.agent = ctx.names.name(&row.agent);
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &ChangeRow) -> String {
        row.id.to_string()
    }

    async fn write(_: &Ctx, tx: &Transaction<'_>, rows: &[ChangeRow]) -> Result<(), CommandError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let devices: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
        let seqs: Vec<i64> = rows.iter().map(|r| r.device_seq).collect();
        let in_log: Vec<bool> = rows.iter().map(|r| r.in_log).collect();
        let niks: Vec<&str> = rows.iter().map(|r| r.nik.as_str()).collect();
        let hlcs: Vec<&str> = rows.iter().map(|r| r.hlc.as_str()).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        let fields: Vec<&str> = rows.iter().map(|r| r.fields.as_str()).collect();
        let agents: Vec<&str> = rows.iter().map(|r| r.agent.as_str()).collect();
        let received: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
        let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
        let codes: Vec<Option<&str>> = rows.iter().map(|r| r.reject_code.as_deref()).collect();
        let reasons: Vec<Option<&str>> = rows.iter().map(|r| r.reject_reason.as_deref()).collect();
        let n = tx
            .execute(
                "INSERT INTO changes (id, device_id, device_seq, in_log, nik, hlc, kind, fields,
                                      agent, received_at, outcome, reject_code, reject_reason)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::boolean[],
                                      $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                      $10::bigint[], $11::text[], $12::text[], $13::text[])
                 ON CONFLICT DO NOTHING",
                &[
                    &ids, &devices, &seqs, &in_log, &niks, &hlcs, &kinds, &fields, &agents,
                    &received, &outcomes, &codes, &reasons,
                ],
            )
            .await?;
        all_written(n, rows.len(), "changes")
    }
}

pub(super) struct Conflicts;
pub(super) struct ConflictRow {
    id: i64,
    nik: String,
    kelurahan: Option<String>,
    fields: String,
    existing: String,
    incoming: String,
    change_id: Uuid,
    status: String,
    opened_at: i64,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    resolution: Option<String>,
    note: Option<String>,
}

impl Batched for Conflicts {
    const STEP: &'static str = "conflicts";
    type Row = ConflictRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<ConflictRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT id, nik, kelurahan, fields, existing, incoming, change_id, status, opened_at,
                    resolved_at, resolved_by, resolution, note
             FROM conflicts WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_int(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(6)?,
                ConflictRow {
                    id: r.get(0)?,
                    nik: r.get(1)?,
                    kelurahan: r.get(2)?,
                    fields: r.get(3)?,
                    existing: r.get(4)?,
                    incoming: r.get(5)?,
                    change_id: Uuid::nil(),
                    status: r.get(7)?,
                    opened_at: r.get(8)?,
                    resolved_at: r.get(9)?,
                    resolved_by: r.get(10)?,
                    resolution: r.get(11)?,
                    note: r.get(12)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (change, mut row) = r?;
            row.change_id = uuid_of(&change)?;
            row.existing = ctx.names.json(&row.existing)?;
            row.incoming = ctx.names.json(&row.incoming)?;
            row.resolved_by = ctx.names.opt(row.resolved_by);
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &ConflictRow) -> String {
        row.id.to_string()
    }

    async fn write(
        _: &Ctx,
        tx: &Transaction<'_>,
        rows: &[ConflictRow],
    ) -> Result<(), CommandError> {
        // New ids from the target's sequence: nothing refers to them.
        let niks: Vec<&str> = rows.iter().map(|r| r.nik.as_str()).collect();
        let kel: Vec<Option<&str>> = rows.iter().map(|r| r.kelurahan.as_deref()).collect();
        let fields: Vec<&str> = rows.iter().map(|r| r.fields.as_str()).collect();
        let existing: Vec<&str> = rows.iter().map(|r| r.existing.as_str()).collect();
        let incoming: Vec<&str> = rows.iter().map(|r| r.incoming.as_str()).collect();
        let change: Vec<Uuid> = rows.iter().map(|r| r.change_id).collect();
        let status: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
        let opened: Vec<i64> = rows.iter().map(|r| r.opened_at).collect();
        let resolved: Vec<Option<i64>> = rows.iter().map(|r| r.resolved_at).collect();
        let by: Vec<Option<&str>> = rows.iter().map(|r| r.resolved_by.as_deref()).collect();
        let resolution: Vec<Option<&str>> = rows.iter().map(|r| r.resolution.as_deref()).collect();
        let note: Vec<Option<&str>> = rows.iter().map(|r| r.note.as_deref()).collect();
        tx.execute(
            "INSERT INTO conflicts (nik, kelurahan, fields, existing, incoming, change_id, status,
                                    opened_at, resolved_at, resolved_by, resolution, note)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::uuid[], $7::text[], $8::bigint[], $9::bigint[],
                                  $10::text[], $11::text[], $12::text[])",
            &[
                &niks,
                &kel,
                &fields,
                &existing,
                &incoming,
                &change,
                &status,
                &opened,
                &resolved,
                &by,
                &resolution,
                &note,
            ],
        )
        .await?;
        Ok(())
    }
}

pub(super) struct Visits;
pub(super) struct VisitRow {
    id: Uuid,
    device_id: Uuid,
    agent: String,
    kelurahan: String,
    rw: i32,
    rt: i32,
    households: i32,
    note: Option<String>,
    visited_at: i64,
    received_at: i64,
}

impl Batched for Visits {
    const STEP: &'static str = "visits";
    type Row = VisitRow;

    fn read(ctx: &Ctx, after: Option<&str>) -> Result<Vec<VisitRow>, CommandError> {
        let mut stmt = ctx.src.conn.prepare_cached(
            "SELECT id, device_id, agent, kelurahan, rw, rt, households, note, visited_at,
                    received_at
             FROM visits WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id(after)?, len_i64(ctx.batch)], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                VisitRow {
                    id: Uuid::nil(),
                    device_id: Uuid::nil(),
                    agent: r.get(2)?,
                    kelurahan: r.get(3)?,
                    rw: r.get(4)?,
                    rt: r.get(5)?,
                    households: r.get(6)?,
                    note: r.get(7)?,
                    visited_at: r.get(8)?,
                    received_at: r.get(9)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, device, mut row) = r?;
            row.id = uuid_of(&id)?;
            row.device_id = uuid_of(&device)?;
            row.agent = ctx.names.name(&row.agent);
            out.push(row);
        }
        Ok(out)
    }

    fn key(row: &VisitRow) -> String {
        row.id.to_string()
    }

    async fn write(_: &Ctx, tx: &Transaction<'_>, rows: &[VisitRow]) -> Result<(), CommandError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let devices: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
        let agents: Vec<&str> = rows.iter().map(|r| r.agent.as_str()).collect();
        let kel: Vec<&str> = rows.iter().map(|r| r.kelurahan.as_str()).collect();
        let rw: Vec<i32> = rows.iter().map(|r| r.rw).collect();
        let rt: Vec<i32> = rows.iter().map(|r| r.rt).collect();
        let households: Vec<i32> = rows.iter().map(|r| r.households).collect();
        let note: Vec<Option<&str>> = rows.iter().map(|r| r.note.as_deref()).collect();
        let visited: Vec<i64> = rows.iter().map(|r| r.visited_at).collect();
        let received: Vec<i64> = rows.iter().map(|r| r.received_at).collect();
        let n = tx
            .execute(
                "INSERT INTO visits (id, device_id, agent, kelurahan, rw, rt, households, note,
                                     visited_at, received_at)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[],
                                      $5::integer[], $6::integer[], $7::integer[], $8::text[],
                                      $9::bigint[], $10::bigint[])
                 ON CONFLICT DO NOTHING",
                &[
                    &ids,
                    &devices,
                    &agents,
                    &kel,
                    &rw,
                    &rt,
                    &households,
                    &note,
                    &visited,
                    &received,
                ],
            )
            .await?;
        all_written(n, rows.len(), "visits")
    }
}
