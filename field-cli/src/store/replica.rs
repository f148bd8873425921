//! The replica: the merged persons of the agent's areas as last pulled,
//! so that `lookup` and `register` can answer offline.
//!
//! The server sends persons masked (`PersonState`): no NIK, no full name.
//! The replica is keyed by `nik_lookup_hash`, computed here from the NIK
//! the agent typed with the deployment's replica key, which the server
//! hands to this device and which is kept only in this (encrypted)
//! database: a copy of the replica alone cannot be checked against
//! guessed NIKs.

use rusqlite::{Connection, OptionalExtension, params};
use sigap_shared::wire::PersonState;
use sigap_shared::{AreaCode, Nik, ReplicaKey, Status, nik_lookup_hash};

use crate::error::{CliError, Result};

/// The columns of a person after its hash, in the order [`Bindings::person`]
/// binds them and [`get`] reads them.
const COLUMNS: &str = "nik_masked, name_masked, participant, registered_by, registered_at,
    kelurahan, rw, rt, category, status, seq, voided_at, void_reason, last_changed_by, erased_at";

/// A lookup hash as stored: its 32 bytes, and `hash_key`, the number of
/// its first 60 bits, which the replica's small unique index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHash {
    pub bytes: [u8; 32],
    pub key: i64,
}

impl StoredHash {
    /// The hash of [`nik_lookup_hash`] (64 hex digits); `None` for
    /// anything else.
    pub fn parse(hex_text: &str) -> Option<StoredHash> {
        // By table: a pull parses a million of them.
        const fn digit_values() -> [u8; 256] {
            let mut t = [0xff; 256];
            let mut i = 0;
            while i < 10 {
                t[b'0' as usize + i] = i as u8;
                i += 1;
            }
            let mut i = 0;
            while i < 6 {
                t[b'a' as usize + i] = 10 + i as u8;
                t[b'A' as usize + i] = 10 + i as u8;
                i += 1;
            }
            t
        }
        const DIGIT: [u8; 256] = digit_values();
        let text = hex_text.as_bytes();
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (b, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let (hi, lo) = (DIGIT[usize::from(pair[0])], DIGIT[usize::from(pair[1])]);
            if hi > 15 || lo > 15 {
                return None;
            }
            *b = (hi << 4) | lo;
        }
        Some(StoredHash::of(bytes))
    }

    pub fn of(bytes: [u8; 32]) -> StoredHash {
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[..8]);
        // 60 bits: always a positive SQLite integer.
        let key = i64::try_from(u64::from_be_bytes(first) >> 4).unwrap_or(i64::MAX);
        StoredHash { bytes, key }
    }
}

/// Writes a pulled person, replacing the one with the same hash.
///
/// Rows go to the end of the `replica` table as they arrive, and their
/// keys (the first 60 bits of the hash) into `replica_keys` in key order
/// once they are [`index`]ed: a pull of a whole kota touches
/// the table only at its end, and each page of the keys once per commit,
/// so the page cache need not hold them (migration 13). Two persons whose
/// hashes share their first 60 bits (about one chance in 10^6 in a
/// replica of a million) cannot both be in `replica`: the later one goes
/// to `replica_collisions`, keyed by the whole hash. (The pull parses
/// each hash itself and calls [`Writer::append`].)
#[cfg(test)]
pub fn upsert(conn: &Connection, p: &PersonState) -> Result<()> {
    let hash = StoredHash::parse(&p.nik_hash).ok_or_else(|| {
        CliError::Refused(crate::i18n::t!(
            "damaged-replica",
            what = format!(
                "nik_hash {:?}",
                p.nik_hash.chars().take(70).collect::<String>()
            )
        ))
    })?;
    let mut keys = Unindexed::default();
    Writer::new(conn, &mut keys)?.append(&[(hash, p)])?;
    index(conn, &mut keys)
}

/// Rows appended to `replica` whose keys are not in `replica_keys` yet:
/// (key, row id). They must be [`index`]ed in the same transaction.
#[derive(Debug, Default)]
pub struct Unindexed(Vec<(i64, i64)>);

impl Unindexed {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Room for `n` keys, taken once so that the buffer is not copied
    /// as it grows (memory the system gives only as it is written).
    pub fn reserve(&mut self, n: usize) {
        self.0.reserve(n);
    }

    /// Hands the keys over in `other`, taking its (empty) buffer in
    /// their place.
    pub fn exchange(&mut self, other: &mut Vec<(i64, i64)>) {
        other.clear();
        std::mem::swap(&mut self.0, other);
    }
}

/// Persons written by one `INSERT` of a pull: the statement's own work
/// (stepping, halting, resetting, finding the table's end) is paid once
/// for all of them rather than once a person.
const ROWS: usize = 32;

/// Writes pulled persons with their statements prepared once (a pull
/// writes a million of them).
pub struct Writer<'c, 'k> {
    conn: &'c Connection,
    one: Bindings<'c>,
    many: Bindings<'c>,
    /// The row number the next person gets: one more than the table's
    /// last row.
    next_id: i64,
    unindexed: &'k mut Unindexed,
}

impl<'c, 'k> Writer<'c, 'k> {
    pub fn new(conn: &'c Connection, unindexed: &'k mut Unindexed) -> Result<Writer<'c, 'k>> {
        let last: i64 =
            conn.query_row("SELECT COALESCE(MAX(id), 0) FROM replica", [], |r| r.get(0))?;
        let next_id = last.checked_add(1).ok_or_else(|| {
            CliError::Local(crate::i18n::t!(
                "damaged-replica",
                what = "replica row numbers"
            ))
        })?;
        Ok(Writer {
            conn,
            one: Bindings::new(conn.prepare_cached(&insert_sql(1))?, 1),
            many: Bindings::new(conn.prepare_cached(&insert_sql(ROWS))?, ROWS),
            next_id,
            unindexed,
        })
    }

    /// Appends persons whose hashes are already parsed, in order; each
    /// replaces the one with the same hash once [`index`]ed.
    pub fn append(&mut self, persons: &[(StoredHash, &PersonState)]) -> Result<()> {
        let mut chunks = persons.chunks_exact(ROWS);
        for chunk in &mut chunks {
            for (i, person) in chunk.iter().enumerate() {
                self.many.person(i * COLUMN_COUNT, person)?;
            }
            self.many.stmt.raw_execute()?;
            self.numbered(chunk)?;
        }
        for person in chunks.remainder() {
            self.one.person(0, person)?;
            self.one.stmt.raw_execute()?;
            self.numbered(std::slice::from_ref(person))?;
        }
        Ok(())
    }

    /// Notes the keys of persons just written, numbered from `next_id`
    /// on. SQLite gives each row of a statement one more than the
    /// table's last row (random numbers only once the last row holds the
    /// largest number it allows), so the statement's last row has the
    /// number the count says; anything else stops the pull before a key
    /// points at the wrong person.
    fn numbered(&mut self, written: &[(StoredHash, &PersonState)]) -> Result<()> {
        let first = self.next_id;
        let last = first.checked_add(written.len() as i64 - 1);
        if last != Some(self.conn.last_insert_rowid()) {
            return Err(CliError::Local(crate::i18n::t!(
                "damaged-replica",
                what = "replica row numbers"
            )));
        }
        for (hash, _) in written {
            self.unindexed.0.push((hash.key, self.next_id));
            self.next_id += 1;
        }
        Ok(())
    }
}

/// Values bound for each person written.
const COLUMN_COUNT: usize = 16;

/// A value as bound to one parameter of a statement.
#[derive(Debug, PartialEq)]
enum Bound {
    Null,
    Int(i64),
    Text(String),
}

/// A value to bind: a text borrowed from the person.
#[derive(Clone, Copy)]
enum Value<'v> {
    Null,
    Int(i64),
    Text(&'v str),
}

impl Value<'_> {
    fn of_text(text: Option<&str>) -> Value<'_> {
        text.map_or(Value::Null, Value::Text)
    }

    fn of_int(n: Option<i64>) -> Value<'static> {
        n.map_or(Value::Null, Value::Int)
    }

    fn is(&self, bound: &Bound) -> bool {
        match (self, bound) {
            (Value::Null, Bound::Null) => true,
            (Value::Int(a), Bound::Int(b)) => a == b,
            (Value::Text(a), Bound::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// An `INSERT` of the pull and what each of its parameters holds.
///
/// SQLite keeps a statement's bindings from one execution to the next, so
/// a parameter that is to hold what it already holds is not bound again.
/// Most of a person's values are the same as those of the person written
/// by the statement before (the NULLs of who was never voided or erased,
/// the category, the source of the last change), and binding was a fifth
/// of the writing thread's instructions in a pull (each text is copied
/// into memory SQLite allocates). The record of what is held lives as long as
/// the statement is out of the cache, which clears its bindings when it
/// takes it back; a parameter is recorded only once its binding
/// succeeded.
struct Bindings<'c> {
    stmt: rusqlite::CachedStatement<'c>,
    /// Per parameter (the first is index 0): what it holds, if known.
    held: Vec<Option<Bound>>,
}

impl<'c> Bindings<'c> {
    fn new(stmt: rusqlite::CachedStatement<'c>, rows: usize) -> Bindings<'c> {
        let mut held = Vec::new();
        held.resize_with(rows * COLUMN_COUNT, || None);
        Bindings { stmt, held }
    }

    /// Binds one person's values from parameter `after + 1` on.
    fn person(&mut self, after: usize, (hash, p): &(StoredHash, &PersonState)) -> Result<()> {
        let millis =
            |v: Option<u64>| Value::of_int(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)));
        let kelurahan = p.kelurahan.map(|k| k.text());
        // The hash is every person's own: bound each time.
        self.stmt.raw_bind_parameter(after + 1, &hash.bytes[..])?;
        self.held[after] = None;
        let values = [
            Value::Text(&p.nik_masked),
            Value::of_text(p.name_masked.as_deref()),
            Value::Int(i64::from(p.participant)),
            Value::of_text(p.registered_by.as_deref()),
            millis(p.registered_at),
            Value::of_text(kelurahan.as_deref()),
            Value::of_int(p.rw.map(i64::from)),
            Value::of_int(p.rt.map(i64::from)),
            Value::of_text(p.category.map(|c| c.as_str())),
            Value::of_text(p.status.map(|s| s.as_str())),
            Value::Int(i64::try_from(p.seq).unwrap_or(i64::MAX)),
            millis(p.voided_at),
            Value::of_text(p.void_reason.as_deref()),
            Value::of_text(p.last_changed_by.as_deref()),
            millis(p.erased_at),
        ];
        for (i, value) in values.into_iter().enumerate() {
            self.bind(after + 1 + i, value)?;
        }
        Ok(())
    }

    /// Binds parameter `index` (from 0) unless it holds `value` already.
    fn bind(&mut self, index: usize, value: Value<'_>) -> Result<()> {
        if self.held[index].as_ref().is_some_and(|b| value.is(b)) {
            return Ok(());
        }
        // Unknown until the binding succeeds.
        let held = self.held[index].take();
        let number = index + 1;
        let now = match value {
            Value::Null => {
                self.stmt
                    .raw_bind_parameter(number, rusqlite::types::Null)?;
                Bound::Null
            }
            Value::Int(n) => {
                self.stmt.raw_bind_parameter(number, n)?;
                Bound::Int(n)
            }
            Value::Text(text) => {
                self.stmt.raw_bind_parameter(number, text)?;
                // The held text's buffer is used again.
                let mut kept = match held {
                    Some(Bound::Text(kept)) => kept,
                    _ => String::new(),
                };
                kept.clear();
                kept.push_str(text);
                Bound::Text(kept)
            }
        };
        self.held[index] = Some(now);
        Ok(())
    }
}

/// The `INSERT` of `rows` persons.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO replica(nik_hash, nik_masked, name_masked, participant,
        registered_by, registered_at, kelurahan, rw, rt, category, status, seq,
        voided_at, void_reason, last_changed_by, erased_at) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..COLUMN_COUNT {
            if column > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql
}

/// Adds the keys of the rows appended since the last call, in key order,
/// to `replica_keys` (see [`index_keys`]).
pub fn index(conn: &Connection, unindexed: &mut Unindexed) -> Result<()> {
    let mut keys = Vec::new();
    unindexed.exchange(&mut keys);
    let indexed = index_keys(conn, &mut keys, || Ok(()));
    // The buffer is used again.
    unindexed.exchange(&mut keys);
    indexed
}

/// Keys indexed between two calls of `between`.
const INDEX_STEP: usize = 8192;

/// Adds `keys` (key, row id) to `replica_keys` in key order (sorting
/// them where they are), calling
/// `between` every few thousand. A key already held is the same person
/// pulled again (the older row goes) or, rarely, another whose hash
/// begins alike (the new row moves to `replica_collisions`). Rows are
/// numbered in the order they arrived, so the later of two writes of a
/// person is the one kept.
pub fn index_keys(
    conn: &Connection,
    keys: &mut [(i64, i64)],
    mut between: impl FnMut() -> Result<()>,
) -> Result<()> {
    keys.sort_unstable();
    let mut many = conn.prepare_cached(&keys_sql(KEYS_A_STATEMENT))?;
    let mut one = conn.prepare_cached(&keys_sql(1))?;
    for step in keys.chunks(INDEX_STEP) {
        let mut groups = step.chunks_exact(KEYS_A_STATEMENT);
        for group in &mut groups {
            add_keys(conn, &mut many, group)?;
        }
        for pair in groups.remainder() {
            add_keys(conn, &mut one, std::slice::from_ref(pair))?;
        }
        between()?;
    }
    Ok(())
}

/// Keys added by one `INSERT` of [`index_keys`] (as the pull's rows: the
/// statement's own work paid once for all of them).
const KEYS_A_STATEMENT: usize = 64;

/// The `INSERT` of `keys` pairs (key, row) that leaves a held key as it is.
fn keys_sql(keys: usize) -> String {
    let mut sql = String::from("INSERT INTO replica_keys(hash_key, person) VALUES ");
    for k in 0..keys {
        sql.push_str(if k == 0 { "(?,?)" } else { ",(?,?)" });
    }
    sql.push_str(" ON CONFLICT(hash_key) DO NOTHING");
    sql
}

/// Adds `group` (in key order) with `stmt`; the keys it found held are
/// settled one by one, in order, so that a person's later write is the
/// one kept.
fn add_keys(
    conn: &Connection,
    stmt: &mut rusqlite::CachedStatement<'_>,
    group: &[(i64, i64)],
) -> Result<()> {
    for (i, &(key, row)) in group.iter().enumerate() {
        stmt.raw_bind_parameter(2 * i + 1, key)?;
        stmt.raw_bind_parameter(2 * i + 2, row)?;
    }
    if stmt.raw_execute()? == group.len() {
        return Ok(());
    }
    let mut holder = conn.prepare_cached("SELECT person FROM replica_keys WHERE hash_key = ?1")?;
    for &(key, row) in group {
        let person: i64 = holder.query_row([key], |r| r.get(0))?;
        if person != row {
            settle_held_key(conn, key, row)?;
        }
    }
    Ok(())
}

/// Row `row` has a key another row already holds.
fn settle_held_key(conn: &Connection, key: i64, row: i64) -> Result<()> {
    let (held, same): (i64, bool) = conn
        .prepare_cached(
            "SELECT k.person, held.nik_hash = new.nik_hash
             FROM replica_keys k JOIN replica held ON held.id = k.person, replica new
             WHERE k.hash_key = ?1 AND new.id = ?2",
        )?
        .query_row(params![key, row], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let gone = if same {
        conn.prepare_cached("UPDATE replica_keys SET person = ?2 WHERE hash_key = ?1")?
            .execute(params![key, row])?;
        held
    } else {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO replica_collisions(nik_hash, nik_masked, name_masked,
                participant, registered_by, registered_at, kelurahan, rw, rt, category, status,
                seq, voided_at, void_reason, last_changed_by, erased_at)
             SELECT nik_hash, nik_masked, name_masked, participant, registered_by,
                registered_at, kelurahan, rw, rt, category, status, seq, voided_at,
                void_reason, last_changed_by, erased_at
             FROM replica WHERE id = ?1",
        )?
        .execute([row])?;
        row
    };
    conn.prepare_cached("DELETE FROM replica WHERE id = ?1")?
        .execute([gone])?;
    Ok(())
}

/// The deployment's replica key, once a sync or `sigap init` has fetched
/// it (nothing is pulled before).
pub fn key(conn: &Connection) -> Result<Option<ReplicaKey>> {
    let Some(text) = super::config::get(conn, super::key::REPLICA_KEY)? else {
        return Ok(None);
    };
    ReplicaKey::from_hex(&text)
        .map(Some)
        .map_err(|_| CliError::Local(crate::i18n::t!("damaged-replica-key")))
}

/// Keeps the deployment's replica key the server gave. A key other than
/// the one kept (a new deployment, or the first since the unkeyed
/// replica) makes every row unfindable: the replica is emptied and the
/// pull starts again. True when it was.
pub fn set_key(conn: &Connection, new: &ReplicaKey) -> Result<bool> {
    if key(conn).ok().flatten().as_ref() == Some(new) {
        return Ok(false);
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM replica", [])?;
    tx.execute("DELETE FROM replica_keys", [])?;
    tx.execute("DELETE FROM replica_collisions", [])?;
    tx.execute(
        "DELETE FROM config WHERE key IN (?1, ?2)",
        [super::key::PULL_CURSOR, super::key::LAST_PULL_AT],
    )?;
    super::config::set(&tx, super::key::REPLICA_KEY, &new.to_hex())?;
    tx.commit()?;
    Ok(true)
}

/// The replica's person with this NIK, found by its lookup hash.
pub fn get(conn: &Connection, nik: &Nik) -> Result<Option<PersonState>> {
    // Without the key nothing was pulled: nobody to find.
    let Some(key) = key(conn)? else {
        return Ok(None);
    };
    get_by_hash(conn, nik_lookup_hash(&key, nik))
}

/// The replica's person with this lookup hash (64 hex digits).
pub fn get_by_hash(conn: &Connection, hash: String) -> Result<Option<PersonState>> {
    let Some(stored) = StoredHash::parse(&hash) else {
        return Ok(None);
    };
    let read = |r: &rusqlite::Row<'_>| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ),
            (
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<u16>>(6)?,
                r.get::<_, Option<u16>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, i64>(10)?,
            ),
            (
                r.get::<_, Option<i64>>(11)?,
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<String>>(13)?,
                r.get::<_, Option<i64>>(14)?,
            ),
        ))
    };
    let mut raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM replica_keys k JOIN replica r ON r.id = k.person
             WHERE k.hash_key = ?1 AND r.nik_hash = ?2"
        ))?
        .query_row(params![stored.key, &stored.bytes[..]], read)
        .optional()?;
    if raw.is_none() {
        raw = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM replica_collisions WHERE nik_hash = ?1"
            ))?
            .query_row(params![&stored.bytes[..]], read)
            .optional()?;
    }
    let Some((
        (nik_masked, name_masked, participant, by, at),
        (kel, rw, rt, cat, status, seq),
        (voided_at, void_reason, last_changed_by, erased_at),
    )) = raw
    else {
        return Ok(None);
    };
    let damaged = |what: &str| CliError::Local(crate::i18n::t!("damaged-replica", what = what));
    let millis = |v: Option<i64>| v.map(|v| u64::try_from(v).unwrap_or(0));
    Ok(Some(PersonState {
        nik_hash: hash,
        nik_masked,
        name_masked,
        kelurahan: kel
            .map(|k| AreaCode::parse(&k))
            .transpose()
            .map_err(|_| damaged("kelurahan"))?,
        rw,
        rt,
        category: cat
            .map(|c| c.parse())
            .transpose()
            .map_err(|_| damaged(&crate::i18n::t!("part-category")))?,
        status: status
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| damaged(&crate::i18n::t!("part-status")))?,
        participant,
        registered_by: by,
        registered_at: millis(at),
        voided_at: millis(voided_at),
        void_reason,
        last_changed_by,
        erased_at: millis(erased_at),
        seq: u64::try_from(seq).unwrap_or(0),
    }))
}

/// Whether this person stops a new registration of the NIK (without
/// `--force`): a participant of the membership roll always does, a
/// person registered in the field only while that registration stands.
/// A voided registration covers nobody, so the person may be registered
/// again.
pub fn blocks_registration(p: &PersonState) -> bool {
    p.participant || p.status != Some(Status::Void)
}

pub fn is_empty(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM replica_keys)
            AND NOT EXISTS (SELECT 1 FROM replica_collisions)",
        [],
        |r| r.get(0),
    )?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT (SELECT COUNT(*) FROM replica_keys)
            + (SELECT COUNT(*) FROM replica_collisions)",
        [],
        |r| r.get(0),
    )?)
}

/// A sentence saying who already holds this person, for messages, to
/// follow "NIK …". It shows only what the server sent: the masked name,
/// never the full one.
pub fn describe(p: &PersonState) -> String {
    describe_in(crate::i18n::lang(), p)
}

/// [`describe`] in `lang` (English for the JSON output).
pub fn describe_in(lang: sigap_shared::Lang, p: &PersonState) -> String {
    let t = |id: &str, args: &[(&str, String)]| crate::i18n::text(lang, id, args);
    let area = p
        .kelurahan
        .map(|k| sigap_shared::wilayah::area_label(&k))
        .unwrap_or_else(|| t("replica-unknown-kelurahan", &[]));
    let who = match &p.name_masked {
        Some(name) if !name.is_empty() => format!("{name}, {area}"),
        _ => area,
    };
    let by = p
        .registered_by
        .clone()
        .unwrap_or_else(|| t("replica-another-agent", &[]));
    let date = |millis: Option<u64>| {
        millis
            .map(|m| crate::output::date_of_millis_in(lang, m))
            .unwrap_or_else(|| t("date-unknown", &[]))
    };
    if p.participant {
        t("replica-participant", &[("who", who)])
    } else if p.status == Some(Status::Void) {
        let reason = match p.void_reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => t("replica-no-reason", &[]),
        };
        t(
            "replica-voided",
            &[
                ("by", by),
                ("registered", date(p.registered_at)),
                ("voided", date(p.voided_at)),
                ("reason", reason),
            ],
        )
    } else {
        t(
            "replica-covered",
            &[
                ("by", by),
                ("registered", date(p.registered_at)),
                ("who", who),
            ],
        )
    }
}
