//! The device's records: the merged view of the changes made here.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use sigap_shared::merge::Stamps;
use sigap_shared::registration::format_programs;
use sigap_shared::{AreaCode, Fields, Hlc, Issue, Nik, PersonRecord, wilayah};

use crate::error::{CliError, Result};
use crate::i18n::t;

/// One record with its warnings and sync state.
#[derive(Debug, Clone)]
pub struct LocalRecord {
    pub record: PersonRecord,
    pub warnings: Vec<Issue>,
    pub created_at: String,
    pub updated_at: String,
    /// Changes not yet answered by the server.
    pub pending: i64,
    /// Changes the server rejected that are not yet corrected.
    pub rejected: i64,
}

impl LocalRecord {
    /// `rejected`, `pending` or `synced`.
    pub fn sync_state(&self) -> &'static str {
        if self.rejected > 0 {
            "rejected"
        } else if self.pending > 0 {
            "pending"
        } else {
            "synced"
        }
    }

    pub fn fields(&self) -> &Fields {
        &self.record.fields
    }
}

/// A record as JSON for scripts, and the row of `sigap export`.
#[derive(Debug, Serialize)]
pub struct RecordView {
    pub nik: String,
    pub name: String,
    pub birth_date: String,
    pub sex: String,
    pub kelurahan: String,
    pub kelurahan_name: String,
    pub rw: String,
    pub rt: String,
    pub category: String,
    pub occupation: String,
    pub employer: String,
    pub phone: String,
    pub programs: String,
    pub status: String,
    pub void_reason: String,
    pub sync_state: String,
    pub warnings: Vec<Issue>,
    pub created_at: String,
    pub updated_at: String,
}

fn text<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl RecordView {
    pub fn of(r: &LocalRecord) -> RecordView {
        let f = r.fields();
        RecordView {
            nik: r.record.nik.to_string(),
            name: text(&f.name),
            birth_date: text(&f.birth_date),
            sex: text(&f.sex),
            kelurahan: text(&f.kelurahan),
            kelurahan_name: f
                .kelurahan
                .as_ref()
                .and_then(wilayah::area_name)
                .unwrap_or_default()
                .to_string(),
            rw: text(&f.rw),
            rt: text(&f.rt),
            category: text(&f.category),
            occupation: text(&f.occupation),
            employer: text(&f.employer),
            phone: text(&f.phone),
            programs: f.programs.as_ref().map(format_programs).unwrap_or_default(),
            status: text(&f.status),
            void_reason: text(&f.void_reason),
            sync_state: r.sync_state().to_string(),
            warnings: r.warnings.clone(),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
        }
    }
}

// A record made by one write holds no fields nor timestamps of its own:
// they are those of change `fields_seq` (see migration 6).
const SELECT: &str = "SELECT r.nik, COALESCE(r.fields, w.fields), r.stamps, w.hlc, r.warnings,
    r.created_at, r.updated_at,
    (SELECT COUNT(*) FROM changes c WHERE c.nik = r.nik AND c.state = 'pending'),
    (SELECT COUNT(*) FROM changes c WHERE c.nik = r.nik AND c.state = 'rejected'
        AND c.superseded_by IS NULL)
    FROM records r LEFT JOIN changes w ON w.device_seq = r.fields_seq";

struct RawRow {
    nik: String,
    fields: Option<String>,
    stamps: Option<String>,
    write_hlc: Option<String>,
    warnings: String,
    created_at: String,
    updated_at: String,
    pending: i64,
    rejected: i64,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        nik: row.get(0)?,
        fields: row.get(1)?,
        stamps: row.get(2)?,
        write_hlc: row.get(3)?,
        warnings: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        pending: row.get(7)?,
        rejected: row.get(8)?,
    })
}

fn decode(raw: RawRow) -> Result<LocalRecord> {
    let nik = Nik::parse(&raw.nik)
        .map_err(|e| CliError::Local(t!("damaged-nik", nik = raw.nik, detail = e)))?;
    let damaged = |what: &str| CliError::Local(t!("damaged-record", nik = nik, what = what));
    let fields: Fields = serde_json::from_str(
        raw.fields
            .as_deref()
            .ok_or_else(|| damaged(&t!("part-no-fields")))?,
    )?;
    let record = match (raw.stamps, raw.write_hlc) {
        (Some(stamps), _) => PersonRecord {
            nik,
            fields,
            stamps: decode_stamps(&stamps)?,
        },
        (None, Some(hlc)) => {
            let hlc = Hlc::from_sortable(&hlc).ok_or_else(|| damaged(&t!("part-bad-timestamp")))?;
            PersonRecord::from_write(nik, &fields, hlc)
        }
        (None, None) => return Err(damaged(&t!("part-no-timestamps"))),
    };
    Ok(LocalRecord {
        record,
        warnings: serde_json::from_str(&raw.warnings)?,
        created_at: raw.created_at,
        updated_at: raw.updated_at,
        pending: raw.pending,
        rejected: raw.rejected,
    })
}

/// Stamps are stored in their compact serialised form (grouped by
/// timestamp, see [`Stamps`]).
fn encode_stamps(stamps: &Stamps) -> Result<String> {
    Ok(serde_json::to_string(stamps)?)
}

fn decode_stamps(text: &str) -> Result<Stamps> {
    serde_json::from_str(text).map_err(|e| CliError::Local(t!("damaged-stamps", detail = e)))
}

pub fn get(conn: &Connection, nik: &Nik) -> Result<Option<LocalRecord>> {
    let raw = conn
        .prepare_cached(&format!("{SELECT} WHERE r.nik = ?1"))?
        .query_row([nik.as_str()], from_row)
        .optional()?;
    raw.map(decode).transpose()
}

pub fn exists(conn: &Connection, nik: &Nik) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM records WHERE nik = ?1")?
        .query_row([nik.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Where a stored record's fields and timestamps come from.
pub enum Source<'a> {
    /// The record is exactly what change `seq` wrote (a registration):
    /// it points at the change instead of copying it.
    Write { seq: i64 },
    /// Anything else (an edit merged into an earlier record): its
    /// timestamps, and its fields as JSON when the caller has made it.
    Merged {
        stamps: &'a Stamps,
        fields_json: Option<&'a str>,
    },
}

/// True when `r` is the record that one write of `fields` at `hlc` makes
/// (every field written, all at `hlc`).
pub fn is_one_write(r: &PersonRecord, fields: &Fields, hlc: Hlc) -> bool {
    if r.fields != *fields || r.stamps.0.values().any(|h| *h != hlc) {
        return false;
    }
    let written = fields.written();
    written.len() == r.stamps.0.len() && written.iter().all(|f| r.stamps.0.contains_key(f))
}

/// Stores the record of `nik` holding `f`, new (`new`: a registration) or
/// replacing the stored one. False, and nothing written, when a new
/// record's NIK is here already.
pub fn store(
    conn: &Connection,
    nik: &Nik,
    f: &Fields,
    source: Source<'_>,
    new: bool,
    warnings: &[Issue],
    now: &str,
) -> Result<bool> {
    let (fields, stamps, fields_seq) = match source {
        Source::Write { seq } => (None, None, Some(seq)),
        Source::Merged {
            stamps,
            fields_json,
        } => {
            let fields = match fields_json {
                Some(j) => j.to_string(),
                None => serde_json::to_string(f)?,
            };
            (Some(fields), Some(encode_stamps(stamps)?), None)
        }
    };
    let warnings = if warnings.is_empty() {
        "[]".to_string()
    } else {
        serde_json::to_string(warnings)?
    };
    // A plain insert for a new record: an upsert may write twice, so SQLite
    // keeps a statement journal for it (a tenth of an import row's cost).
    let sql = if new {
        "INSERT INTO records(nik, fields, stamps, fields_seq, warnings, name, kelurahan, rw, rt,
            category, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)"
    } else {
        "INSERT INTO records(nik, fields, stamps, fields_seq, warnings, name, kelurahan, rw, rt,
            category, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT(nik) DO UPDATE SET fields = excluded.fields, stamps = excluded.stamps,
            fields_seq = excluded.fields_seq, warnings = excluded.warnings,
            name = excluded.name, kelurahan = excluded.kelurahan,
            rw = excluded.rw, rt = excluded.rt, category = excluded.category,
            status = excluded.status, updated_at = excluded.updated_at"
    };
    let done = conn.prepare_cached(sql)?.execute(params![
        nik.as_str(),
        fields,
        stamps,
        fields_seq,
        warnings,
        f.name.as_deref().unwrap_or_default(),
        f.kelurahan.map(|k| k.to_string()),
        f.rw,
        f.rt,
        f.category.map(|c| c.as_str()),
        f.status.map(|s| s.as_str()),
        now,
    ]);
    match done {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if new && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Which records to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub kelurahan: Option<AreaCode>,
    pub rw: Option<u16>,
    pub rt: Option<u16>,
    pub pending: bool,
}

pub fn list(conn: &Connection, filter: &Filter) -> Result<Vec<LocalRecord>> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(k) = filter.kelurahan {
        args.push(Box::new(k.to_string()));
        sql.push_str(&format!(" AND r.kelurahan = ?{}", args.len()));
    }
    if let Some(rw) = filter.rw {
        args.push(Box::new(rw));
        sql.push_str(&format!(" AND r.rw = ?{}", args.len()));
    }
    if let Some(rt) = filter.rt {
        args.push(Box::new(rt));
        sql.push_str(&format!(" AND r.rt = ?{}", args.len()));
    }
    if filter.pending {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM changes c WHERE c.nik = r.nik AND (c.state = 'pending'
              OR (c.state = 'rejected' AND c.superseded_by IS NULL)))",
        );
    }
    sql.push_str(" ORDER BY r.kelurahan, r.rw, r.rt, r.name, r.nik");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), from_row)?;
    let mut out = Vec::new();
    for raw in rows {
        out.push(decode(raw?)?);
    }
    Ok(out)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?)
}
