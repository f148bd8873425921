//! Reads, tokens, devices, baselines and targets on PostgreSQL: the same
//! answers as `sqlite.rs` and `sqlite/read.rs`, in PostgreSQL's SQL.
//!
//! Text that SQLite orders by (NIKs, clocks) is ordered `COLLATE "C"`
//! here, byte by byte as SQLite's BINARY does, whatever the database's
//! collation.

use std::collections::HashMap;

use sigap_shared::coverage::{Percent, Target};
use sigap_shared::merge::Field;
use sigap_shared::wire::{PROTOCOL_VERSION, PersonState, PullPage, Receipt, ReceiptHash};
use sigap_shared::{AreaCode, Level, Nik};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::PgStore;
use super::rows::{
    corrupt, inside_pattern, like_literal, parse_area, parse_record, snapshot, to_u64,
};
use crate::engine;
use crate::store::sqlite::counters::{parse_date_text, roll_since};
use crate::store::{
    self, AreaData, Conflict, ConflictSide, CounterDiff, DeviceChange, HistoryEntry, PersonView,
    ReviewItem, Role, StoreError, TokenInfo, VerifyReport, category_index,
};

/// A stored record as the pull feed reads it: the fields only (see
/// `sqlite/read.rs`).
#[derive(serde::Deserialize)]
struct PullRecord<'a> {
    fields: sigap_shared::Fields,
    /// Read only for a void (its date is sent) and an erased person (the
    /// erasure's date is sent).
    #[serde(borrow)]
    stamps: &'a serde_json::value::RawValue,
}

/// When a void record was voided: its `status` stamp's clock.
fn voided_at(rec: &PullRecord<'_>) -> Result<Option<u64>, StoreError> {
    if rec.fields.status != Some(sigap_shared::Status::Void) {
        return Ok(None);
    }
    let stamps: sigap_shared::merge::Stamps =
        serde_json::from_str(rec.stamps.get()).map_err(corrupt)?;
    Ok(stamps.0.get(&Field::Status).map(|h| h.millis))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A row limit as a `LIMIT` parameter: `n`, plus one to tell whether more
/// follow.
fn limit_plus_one(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX - 1).saturating_add(1)
}

/// How many persons a pull page that skips the device's own may examine,
/// per person it may return (as on SQLite).
const SKIP_FACTOR: usize = 20;

const TOKEN_COLUMNS: &str = "id, name, role, areas, created_at, revoked_at, expires_at";

fn token_from_row(r: &Row) -> Result<TokenInfo, StoreError> {
    let role: String = r.try_get(2)?;
    let areas: String = r.try_get(3)?;
    Ok(TokenInfo {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("token role {role:?}")))?,
        areas: areas
            .split(',')
            .filter(|s| !s.is_empty())
            .map(parse_area)
            .collect::<Result<_, _>>()?,
        created_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
        expires_at: r.try_get(6)?,
    })
}

const CONFLICT_COLUMNS: &str = "id, nik, kelurahan, fields, existing, incoming, change_id, status,
     opened_at, resolved_at, resolved_by, resolution, note";

fn conflict_from_row(r: &Row) -> Result<Conflict, StoreError> {
    let nik: &str = r.try_get(1)?;
    let kel: Option<&str> = r.try_get(2)?;
    let fields: Vec<Field> = serde_json::from_str(r.try_get(3)?).map_err(corrupt)?;
    let existing: ConflictSide = serde_json::from_str(r.try_get(4)?).map_err(corrupt)?;
    let incoming: ConflictSide = serde_json::from_str(r.try_get(5)?).map_err(corrupt)?;
    let resolution: Option<&str> = r.try_get(11)?;
    Ok(Conflict {
        id: r.try_get(0)?,
        nik: Nik::parse(nik).map_err(corrupt)?,
        kelurahan: kel.map(parse_area).transpose()?,
        fields,
        existing,
        incoming,
        change_id: r.try_get(6)?,
        status: r.try_get(7)?,
        opened_at: r.try_get(8)?,
        resolved_at: r.try_get(9)?,
        resolved_by: r.try_get(10)?,
        resolution: resolution
            .map(|t| serde_json::from_str(t).map_err(corrupt))
            .transpose()?,
        note: r.try_get(12)?,
    })
}

/// Whether a person addressed in `kelurahan` lies in `areas` (everywhere
/// when `None`). A record without an address is in nobody's area: admins
/// see it.
fn visible(areas: Option<&[AreaCode]>, kelurahan: Option<&AreaCode>) -> bool {
    match (areas, kelurahan) {
        (None, _) => true,
        (Some(list), Some(k)) => list.iter().any(|a| a.contains(k)),
        (Some(_), None) => false,
    }
}

/// The conflict `id`, read with `client` (a connection or a transaction).
pub(in crate::store) async fn load_conflict(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
) -> Result<Option<Conflict>, StoreError> {
    let sql = format!("SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = $1");
    let stmt = client.prepare_cached(&sql).await?;
    client
        .query_opt(&stmt, &[&id])
        .await?
        .as_ref()
        .map(conflict_from_row)
        .transpose()
}

/// The receipt of `device` (an empty one when the server holds nothing
/// from it), read with `client` (a connection or a transaction).
pub(in crate::store) async fn load_device(
    client: &impl deadpool_postgres::GenericClient,
    device: &Uuid,
) -> Result<Receipt, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT count, highest_seq, max_seq, hash FROM devices WHERE device_id = $1",
        )
        .await?;
    Ok(match client.query_opt(&stmt, &[device]).await? {
        Some(r) => Receipt {
            device_id: *device,
            count: to_u64(r.try_get(0)?),
            highest_seq: to_u64(r.try_get(1)?),
            max_seq: to_u64(r.try_get(2)?),
            hash: r.try_get(3)?,
        },
        None => Receipt {
            device_id: *device,
            count: 0,
            highest_seq: 0,
            max_seq: 0,
            hash: ReceiptHash::default().to_hex(),
        },
    })
}

/// The token a device belongs to: `None` when the server has no row for
/// it, `Some(None)` for a device no token holds yet. With `lock`, the row
/// stays locked to the end of the transaction.
async fn device_owner(
    client: &impl deadpool_postgres::GenericClient,
    device: &Uuid,
    lock: bool,
) -> Result<Option<Option<i64>>, StoreError> {
    let sql = if lock {
        "SELECT token_id FROM devices WHERE device_id = $1 FOR UPDATE"
    } else {
        "SELECT token_id FROM devices WHERE device_id = $1"
    };
    let stmt = client.prepare_cached(sql).await?;
    Ok(match client.query_opt(&stmt, &[device]).await? {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// Makes `token_id` the holder of `device` (a row with nothing held when
/// the server has none for it).
pub(in crate::store) async fn bind_device(
    client: &impl deadpool_postgres::GenericClient,
    device: &Uuid,
    token_id: i64,
) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id)
             VALUES ($1, 0, 0, 0, $2, $3)
             ON CONFLICT (device_id) DO UPDATE SET token_id = excluded.token_id",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[device, &ReceiptHash::default().to_hex(), &token_id],
        )
        .await?;
    Ok(())
}

/// Refuses when another token holds `device`, else makes `token_id` its
/// holder, inside the caller's transaction `tx`: the device's row is
/// made if missing (so that there is a row to lock) and locked to the end
/// of the transaction, so two servers cannot both bind one device to
/// different tokens.
pub(in crate::store) async fn claim_and_bind(
    tx: &deadpool_postgres::Transaction<'_>,
    device: &Uuid,
    token_id: i64,
) -> Result<(), StoreError> {
    // A new device: the insert binds it (a concurrent insert of the same
    // device waits here for the other transaction, then finds its row).
    let stmt = tx
        .prepare_cached(
            "INSERT INTO devices (device_id, count, highest_seq, max_seq, hash, token_id)
             VALUES ($1, 0, 0, 0, $2, $3)
             ON CONFLICT (device_id) DO NOTHING",
        )
        .await?;
    let inserted = tx
        .execute(
            &stmt,
            &[device, &ReceiptHash::default().to_hex(), &token_id],
        )
        .await?;
    if inserted == 1 {
        return Ok(());
    }
    match device_owner(tx, device, true).await? {
        Some(Some(owner)) if owner == token_id => Ok(()),
        Some(Some(owner)) => {
            let stmt = tx
                .prepare_cached("SELECT name FROM tokens WHERE id = $1")
                .await?;
            let name: Option<String> = match tx.query_opt(&stmt, &[&owner]).await? {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            };
            Err(StoreError::Denied {
                code: "device_not_yours".into(),
                message: format!(
                    "device {device} belongs to another token ({}); each laptop syncs with the token it was set up with: run `sigap init --token` with that token, or ask an admin",
                    name.unwrap_or_else(|| format!("#{owner}"))
                ),
            })
        }
        _ => bind_device(tx, device, token_id).await,
    }
}

/// Marks a change to what coverage answers are built from (see
/// [`crate::store::Store::data_generation`]).
async fn bump_generation(client: &impl deadpool_postgres::GenericClient) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('generation', 1)
             ON CONFLICT (key) DO UPDATE SET value = meta.value + 1",
        )
        .await?;
    client.execute(&stmt, &[]).await?;
    Ok(())
}

impl PgStore {
    /// Finds an unrevoked token, expired or not: the caller tells an
    /// expired token apart to say so (see `http::auth`).
    pub(in crate::store) fn find_token_impl(
        &self,
        hash: &str,
    ) -> Result<Option<TokenInfo>, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1 AND revoked_at IS NULL"
            );
            let stmt = client.prepare_cached(&sql).await?;
            client
                .query_opt(&stmt, &[&hash])
                .await?
                .as_ref()
                .map(token_from_row)
                .transpose()
        })
    }

    pub(in crate::store) fn create_token_impl(
        &self,
        t: &store::NewToken,
    ) -> Result<TokenInfo, StoreError> {
        let areas: Vec<String> = t.areas.iter().map(|a| a.to_string()).collect();
        let areas = areas.join(",");
        // The wall clock, as on SQLite (not the store's clock).
        let now = crate::store::sqlite::now_millis();
        let taken = || StoreError::Invalid {
            code: "token_name_taken".into(),
            message: format!(
                "a token named {:?} already exists; choose another name or revoke it first",
                t.name
            ),
        };
        self.block_on(async {
            let client = self.client().await?;
            // Checked first, as on SQLite, so that a refused name uses up
            // no id (`ON CONFLICT DO NOTHING` would take one from the
            // sequence).
            let stmt = client
                .prepare_cached("SELECT 1 FROM tokens WHERE name = $1")
                .await?;
            if client.query_opt(&stmt, &[&t.name]).await?.is_some() {
                return Err(taken());
            }
            let stmt = client
                .prepare_cached(
                    "INSERT INTO tokens (name, role, areas, hash, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .await?;
            let inserted = client
                .query_one(
                    &stmt,
                    &[
                        &t.name,
                        &t.role.as_str(),
                        &areas,
                        &t.hash,
                        &now,
                        &t.expires_at,
                    ],
                )
                .await;
            let row = match inserted {
                Ok(row) => row,
                // Another server took the name meanwhile.
                Err(e)
                    if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                        && e.as_db_error().and_then(|d| d.constraint())
                            == Some("tokens_name_key") =>
                {
                    return Err(taken());
                }
                Err(e) => return Err(e.into()),
            };
            Ok(TokenInfo {
                id: row.try_get(0)?,
                name: t.name.clone(),
                role: t.role,
                areas: t.areas.clone(),
                created_at: now,
                revoked_at: None,
                expires_at: t.expires_at,
            })
        })
    }

    pub(in crate::store) fn list_tokens_impl(&self) -> Result<Vec<TokenInfo>, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
            let stmt = client.prepare_cached(&sql).await?;
            client
                .query(&stmt, &[])
                .await?
                .iter()
                .map(token_from_row)
                .collect()
        })
    }

    /// Revokes by name, else by id; an already revoked token keeps the
    /// time it was revoked.
    pub(in crate::store) fn revoke_token_impl(
        &self,
        key: &str,
    ) -> Result<Option<TokenInfo>, StoreError> {
        // The wall clock, as on SQLite (not the store's clock).
        let now = crate::store::sqlite::now_millis();
        self.block_on(async {
            let client = self.client().await?;
            let sql = format!(
                "WITH t AS (
                     SELECT id FROM tokens WHERE name = $1 OR id::TEXT = $1
                     ORDER BY (name = $1) DESC LIMIT 1
                 )
                 UPDATE tokens SET revoked_at = COALESCE(tokens.revoked_at, $2)
                 FROM t WHERE tokens.id = t.id
                 RETURNING {}",
                TOKEN_COLUMNS
                    .split(", ")
                    .map(|c| format!("tokens.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let stmt = client.prepare_cached(&sql).await?;
            client
                .query_opt(&stmt, &[&key, &now])
                .await?
                .as_ref()
                .map(token_from_row)
                .transpose()
        })
    }

    /// The feed after `cursor`, as `SqliteStore::pull_impl` gives it.
    ///
    /// A plain `seq > cursor ORDER BY seq` is safe here: the writers give
    /// out `seq` at the end of each write transaction under the row lock
    /// of `meta('feed_seq')`, held to commit, so feed positions become
    /// visible in order and no smaller seq can commit after a larger one
    /// was read (see the schema and docs/sync-api.md).
    pub(in crate::store) fn pull_impl(
        &self,
        areas: Option<&[AreaCode]>,
        cursor: u64,
        limit: usize,
        skip: Option<Uuid>,
    ) -> Result<PullPage, StoreError> {
        // Skipped persons still cost a row read each: a page examines at
        // most this many, so one request stays bounded whatever the feed.
        let examine = if skip.is_some() {
            limit.saturating_mul(SKIP_FACTOR)
        } else {
            limit
        };
        // The record of a person the page skips is not sent: a fresh
        // device's first pull after its push examines every person it
        // registered, 100,000 records of ~470 bytes read, sent and
        // decoded for nothing (BENCHMARKS.md, session 20). `$2` is the
        // skipped device, or NULL, which skips nobody.
        const COLUMNS: &str = "SELECT nik,
                    CASE WHEN sole_device = $2 THEN NULL ELSE record END,
                    participant, registered_by, registered_at, seq, sole_device, last_changed_by
             FROM persons WHERE seq > $1";
        // A kelurahan is matched by its code, a wider area by its prefix
        // (as SQLite's `GLOB 'code.*'`).
        let (exact, prefixes): (Vec<String>, Vec<String>) = match areas {
            None => (Vec::new(), Vec::new()),
            Some(list) => {
                let mut exact = Vec::new();
                let mut prefixes = Vec::new();
                for a in list {
                    match a.level() {
                        Level::Kelurahan => exact.push(a.to_string()),
                        _ => prefixes.push(format!("{}.%", like_literal(&a.to_string()))),
                    }
                }
                (exact, prefixes)
            }
        };
        let cursor_param = to_i64(cursor);
        let rows_param = limit_plus_one(examine);
        self.block_on(async {
            let client = self.client().await?;
            let rows = if areas.is_some() {
                let sql = format!(
                    "{COLUMNS} AND (kelurahan = ANY($3) OR kelurahan LIKE ANY($4))
                     ORDER BY seq LIMIT $5"
                );
                let stmt = client.prepare_cached(&sql).await?;
                client
                    .query(
                        &stmt,
                        &[&cursor_param, &skip, &exact, &prefixes, &rows_param],
                    )
                    .await?
            } else {
                let sql = format!("{COLUMNS} ORDER BY seq LIMIT $3");
                let stmt = client.prepare_cached(&sql).await?;
                client
                    .query(&stmt, &[&cursor_param, &skip, &rows_param])
                    .await?
            };
            let mut persons = Vec::with_capacity(rows.len().min(limit));
            let mut has_more = false;
            let mut last_seq = cursor;
            for (examined, r) in rows.iter().enumerate() {
                if persons.len() == limit || examined == examine {
                    has_more = true;
                    break;
                }
                let seq = to_u64(r.try_get(5)?);
                last_seq = seq;
                let sole: Option<Uuid> = r.try_get(6)?;
                if skip.is_some() && sole == skip {
                    continue;
                }
                let nik: &str = r.try_get(0)?;
                let nik = Nik::parse(nik).map_err(|e| corrupt(format!("stored NIK: {e}")))?;
                let rec: PullRecord = serde_json::from_str(r.try_get(1)?)
                    .map_err(|e| corrupt(format!("person record: {e}")))?;
                let at: Option<i64> = r.try_get(4)?;
                // Agents get the masked state only: no NIK, no full name,
                // no birth date or contact details (see `PersonState`).
                persons.push(PersonState {
                    participant: r.try_get(2)?,
                    registered_by: r.try_get(3)?,
                    registered_at: at.map(to_u64),
                    voided_at: voided_at(&rec)?,
                    erased_at: crate::store::sqlite::erase::erased_at(
                        &rec.fields,
                        rec.stamps.get(),
                    )?,
                    last_changed_by: r.try_get(7)?,
                    seq,
                    ..PersonState::masked(&self.replica_key, &nik, &rec.fields)
                });
            }
            // Past the skipped persons too: they are not examined again.
            Ok(PullPage {
                protocol: PROTOCOL_VERSION,
                persons,
                next_cursor: last_seq,
                has_more,
            })
        })
    }

    pub(in crate::store) fn claim_device_impl(
        &self,
        device: Uuid,
        token_id: i64,
    ) -> Result<(), StoreError> {
        self.block_on(async {
            let mut client = self.client().await?;
            // Most claims are by the owner: answered without a write.
            if device_owner(&client, &device, false).await? == Some(Some(token_id)) {
                return Ok(());
            }
            let tx = client.transaction().await?;
            claim_and_bind(&tx, &device, token_id).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub(in crate::store) fn assign_device_impl(
        &self,
        device: Uuid,
        token_id: i64,
    ) -> Result<(), StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            bind_device(&client, &device, token_id).await
        })
    }

    pub(in crate::store) fn review_impl(
        &self,
        areas: Option<&[AreaCode]>,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT nik, kelurahan, record, review, participant, roll_as_of, registered_at
                     FROM persons WHERE review IS NOT NULL ORDER BY nik COLLATE \"C\"",
                )
                .await?;
            let mut out = Vec::new();
            for r in client.query(&stmt, &[]).await? {
                let kel: Option<&str> = r.try_get(1)?;
                let kelurahan = kel.map(parse_area).transpose()?;
                if !visible(areas, kelurahan.as_ref()) {
                    continue;
                }
                let nik: &str = r.try_get(0)?;
                let rec = parse_record(r.try_get(2)?)?;
                let issues: Vec<sigap_shared::Issue> =
                    serde_json::from_str(r.try_get(3)?).map_err(corrupt)?;
                let as_of: Option<&str> = r.try_get(5)?;
                let as_of = as_of.map(parse_date_text).transpose()?;
                let roll = roll_since(r.try_get(4)?, as_of);
                out.push(ReviewItem {
                    nik: Nik::parse(nik).map_err(corrupt)?,
                    kelurahan,
                    covered: engine::coverage_key(&rec, roll, r.try_get(6)?).is_some(),
                    issues,
                });
            }
            Ok(out)
        })
    }

    pub(in crate::store) fn registrations_per_day_impl(
        &self,
        areas: Option<&[AreaCode]>,
        from_millis: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            // Grouped by kelurahan first: the area test needs the code, and
            // a kota has only a few dozen kelurahan.
            let stmt = client
                .prepare_cached(
                    "SELECT kelurahan, registered_at / 86400000 AS day, COUNT(*)
                     FROM persons WHERE registered_at >= $1
                     GROUP BY kelurahan, day",
                )
                .await?;
            let mut days: std::collections::BTreeMap<i64, u64> = Default::default();
            for r in client.query(&stmt, &[&from_millis]).await? {
                let kel: Option<&str> = r.try_get(0)?;
                let kelurahan = kel.map(parse_area).transpose()?;
                if visible(areas, kelurahan.as_ref()) {
                    let n: i64 = r.try_get(2)?;
                    *days.entry(r.try_get(1)?).or_default() += to_u64(n);
                }
            }
            Ok(days.into_iter().collect())
        })
    }

    pub(in crate::store) fn device_receipt_impl(
        &self,
        device: Uuid,
    ) -> Result<Receipt, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            load_device(&client, &device).await
        })
    }

    pub(in crate::store) fn device_changes_impl(
        &self,
        device: Uuid,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<DeviceChange>, bool), StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT device_seq, id, outcome, reject_code, reject_reason FROM changes
                     WHERE device_id = $1 AND in_log AND device_seq > $2
                     ORDER BY device_seq LIMIT $3",
                )
                .await?;
            let rows = client
                .query(
                    &stmt,
                    &[&device, &to_i64(after_seq), &limit_plus_one(limit)],
                )
                .await?;
            let mut out = Vec::new();
            let mut more = false;
            for r in &rows {
                if out.len() == limit {
                    more = true;
                    break;
                }
                out.push(DeviceChange {
                    device_seq: to_u64(r.try_get(0)?),
                    id: r.try_get(1)?,
                    outcome: r.try_get(2)?,
                    code: r.try_get(3)?,
                    reason: r.try_get(4)?,
                });
            }
            Ok((out, more))
        })
    }

    pub(in crate::store) fn set_baselines_impl(
        &self,
        rows: &[store::Baseline],
    ) -> Result<(), StoreError> {
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO baselines (area, year, working_population) VALUES ($1, $2, $3)
                     ON CONFLICT (area, year)
                     DO UPDATE SET working_population = excluded.working_population",
                )
                .await?;
            for b in rows {
                let pop = to_i64(b.working_population);
                tx.execute(&stmt, &[&b.area.to_string(), &b.year, &pop])
                    .await?;
            }
            bump_generation(&tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub(in crate::store) fn set_target_impl(
        &self,
        area: &AreaCode,
        year: i32,
        t: Target,
    ) -> Result<(), StoreError> {
        let count = t.count.map(to_i64);
        let bp = i32::try_from(t.percent.basis_points()).map_err(|_| StoreError::Invalid {
            code: "invalid_target".into(),
            message: format!("target {} basis points is out of range", t.percent.0),
        })?;
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO targets (area, year, percent_bp, count) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (area, year)
                     DO UPDATE SET percent_bp = excluded.percent_bp, count = excluded.count",
                )
                .await?;
            tx.execute(&stmt, &[&area.to_string(), &year, &bp, &count])
                .await?;
            bump_generation(&tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub(in crate::store) fn area_data_impl(
        &self,
        area: &AreaCode,
        year: i32,
        counted_through: i32,
    ) -> Result<AreaData, StoreError> {
        let code = area.to_string();
        let pattern = inside_pattern(area);
        self.block_on(async {
            let mut client = self.client().await?;
            // The three reads see one state of the database.
            let tx = snapshot(&mut client).await?;
            let mut data = AreaData::default();
            // Everyone whose coverage started by the end of the year.
            let stmt = tx
                .prepare_cached(
                    "SELECT area, category, SUM(covered)::BIGINT FROM counters
                     WHERE (area = $1 OR area LIKE $2) AND since_year <= $3
                     GROUP BY area, category HAVING SUM(covered) <> 0",
                )
                .await?;
            for r in tx
                .query(&stmt, &[&code, &pattern, &counted_through])
                .await?
            {
                let a = parse_area(r.try_get(0)?)?;
                let cat: &str = r.try_get(1)?;
                let cat: sigap_shared::Category = cat.parse().map_err(corrupt)?;
                let n: i64 = r.try_get(2)?;
                data.counters.entry(a).or_default()[category_index(cat)] = to_u64(n);
            }
            let stmt = tx
                .prepare_cached(
                    "SELECT area, working_population FROM baselines
                     WHERE year = $3 AND (area = $1 OR area LIKE $2)",
                )
                .await?;
            for r in tx.query(&stmt, &[&code, &pattern, &year]).await? {
                let a = parse_area(r.try_get(0)?)?;
                let n: i64 = r.try_get(1)?;
                data.baselines.insert(a, to_u64(n));
            }
            let stmt = tx
                .prepare_cached(
                    "SELECT area, percent_bp, count FROM targets
                     WHERE year = $3 AND (area = $1 OR area LIKE $2)",
                )
                .await?;
            for r in tx.query(&stmt, &[&code, &pattern, &year]).await? {
                let a = parse_area(r.try_get(0)?)?;
                let bp: i32 = r.try_get(1)?;
                let bp = u32::try_from(bp)
                    .map_err(|_| corrupt(format!("target of {a}: {bp} basis points")))?;
                let count: Option<i64> = r.try_get(2)?;
                data.targets.insert(
                    a,
                    Target {
                        percent: Percent(bp),
                        count: count.map(to_u64),
                    },
                );
            }
            tx.commit().await?;
            Ok(data)
        })
    }

    pub(in crate::store) fn data_generation_impl(&self) -> Result<u64, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("SELECT value FROM meta WHERE key = 'generation'")
                .await?;
            Ok(match client.query_opt(&stmt, &[]).await? {
                Some(r) => to_u64(r.try_get(0)?),
                None => 0,
            })
        })
    }

    /// Recounts coverage from the persons by the rule the writes follow
    /// ([`engine::coverage_key`]) and compares every bucket (area, category
    /// and start year), so a wrong count for any year shows. The persons
    /// and the counters are read in one snapshot, so writes running
    /// meanwhile show no false differences.
    pub(in crate::store) fn verify_counters_impl(&self) -> Result<VerifyReport, StoreError> {
        /// Persons read per round trip.
        const BATCH: i32 = 2_000;
        type Key = (String, String, i32);
        self.block_on(async {
            let mut client = self.client().await?;
            let tx = snapshot(&mut client).await?;
            let mut report = VerifyReport::default();
            let mut buckets: HashMap<(AreaCode, sigap_shared::Category, i32), i64> = HashMap::new();
            let stmt = tx
                .prepare_cached(
                    "SELECT record, participant, roll_as_of, registered_at FROM persons",
                )
                .await?;
            // Through a portal: the persons are read in batches, not held
            // all at once.
            let portal = tx.bind(&stmt, &[]).await?;
            loop {
                let rows = tx.query_portal(&portal, BATCH).await?;
                if rows.is_empty() {
                    break;
                }
                for r in &rows {
                    report.persons += 1;
                    let record = parse_record(r.try_get(0)?)?;
                    let as_of: Option<&str> = r.try_get(2)?;
                    let as_of = as_of.map(parse_date_text).transpose()?;
                    let key = engine::coverage_key(
                        &record,
                        roll_since(r.try_get(1)?, as_of),
                        r.try_get(3)?,
                    );
                    engine::add_deltas(&mut buckets, &None, &key);
                }
            }
            let expected: HashMap<Key, i64> = buckets
                .into_iter()
                .filter(|(_, n)| *n != 0)
                .map(|((area, cat, year), n)| {
                    ((area.to_string(), cat.as_str().to_string(), year), n)
                })
                .collect();
            let stmt = tx
                .prepare_cached(
                    // A count is the sum of its stripes.
                    "SELECT area, category, since_year, SUM(covered)::BIGINT FROM counters
                     GROUP BY area, category, since_year",
                )
                .await?;
            let mut stored: HashMap<Key, i64> = HashMap::new();
            for r in tx.query(&stmt, &[]).await? {
                stored.insert((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?), r.try_get(3)?);
            }
            tx.commit().await?;
            let mut keys: Vec<&Key> = expected.keys().chain(stored.keys()).collect();
            keys.sort();
            keys.dedup();
            report.counters = u64::try_from(keys.len()).unwrap_or(u64::MAX);
            for k in keys {
                let s = stored.get(k).copied().unwrap_or(0);
                let e = expected.get(k).copied().unwrap_or(0);
                if s != e {
                    report.differences.push(CounterDiff {
                        area: k.0.clone(),
                        category: k.1.clone(),
                        since_year: k.2,
                        stored: s,
                        expected: e,
                    });
                }
            }
            Ok(report)
        })
    }

    pub(in crate::store) fn database_bytes_impl(&self) -> Result<u64, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            // The schema the connection writes to (the server's own):
            // tables with their indexes and TOAST.
            let stmt = client
                .prepare_cached(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')",
                )
                .await?;
            let bytes: i64 = client.query_one(&stmt, &[]).await?.get(0);
            Ok(u64::try_from(bytes).unwrap_or(0))
        })
    }

    pub(in crate::store) fn conflicts_impl(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<Conflict>, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            let sql = format!(
                "SELECT {CONFLICT_COLUMNS} FROM conflicts
                 WHERE $1::TEXT IS NULL OR status = $1 ORDER BY id DESC"
            );
            let stmt = client.prepare_cached(&sql).await?;
            client
                .query(&stmt, &[&status])
                .await?
                .iter()
                .map(conflict_from_row)
                .collect()
        })
    }

    pub(in crate::store) fn conflict_impl(&self, id: i64) -> Result<Option<Conflict>, StoreError> {
        self.block_on(async {
            let client = self.client().await?;
            load_conflict(&client, id).await
        })
    }

    pub(in crate::store) fn person_impl(
        &self,
        nik: &Nik,
        history: bool,
    ) -> Result<Option<PersonView>, StoreError> {
        self.block_on(async {
            let mut client = self.client().await?;
            // The person and their history as of one moment.
            let tx = snapshot(&mut client).await?;
            let stmt = tx
                .prepare_cached(
                    "SELECT record, participant, registered_by, registered_at, seq, roll_as_of
                     FROM persons WHERE nik = $1",
                )
                .await?;
            let Some(row) = tx.query_opt(&stmt, &[&nik.as_str()]).await? else {
                return Ok(None);
            };
            let rec = parse_record(row.try_get(0)?)?;
            let participant: bool = row.try_get(1)?;
            let by: Option<String> = row.try_get(2)?;
            let at: Option<i64> = row.try_get(3)?;
            let seq: i64 = row.try_get(4)?;
            let as_of: Option<&str> = row.try_get(5)?;
            let as_of = as_of.map(parse_date_text).transpose()?;
            let roll = roll_since(participant, as_of);
            let history = if history {
                let stmt = tx
                    .prepare_cached(
                        "SELECT id, device_id, device_seq, agent, kind, hlc, received_at, outcome,
                                reject_code, fields
                         FROM changes WHERE nik = $1
                         ORDER BY received_at, hlc COLLATE \"C\"",
                    )
                    .await?;
                let mut out = Vec::new();
                for r in tx.query(&stmt, &[&nik.as_str()]).await? {
                    out.push(HistoryEntry {
                        change_id: r.try_get(0)?,
                        device_id: r.try_get(1)?,
                        device_seq: to_u64(r.try_get(2)?),
                        agent: r.try_get(3)?,
                        kind: r.try_get(4)?,
                        hlc: r.try_get(5)?,
                        received_at: r.try_get(6)?,
                        outcome: r.try_get(7)?,
                        code: r.try_get(8)?,
                        fields: serde_json::from_str(r.try_get(9)?).map_err(corrupt)?,
                    });
                }
                Some(out)
            } else {
                None
            };
            tx.commit().await?;
            Ok(Some(PersonView {
                covered: engine::coverage_key(&rec, roll, at).is_some(),
                stamps: serde_json::to_value(&rec.stamps).map_err(corrupt)?,
                nik: rec.nik,
                fields: rec.fields,
                participant,
                registered_by: by,
                registered_at: at.map(to_u64),
                seq: to_u64(seq),
                history,
            }))
        })
    }
}
