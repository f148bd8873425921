//! The sync wire types, shared by the `sigap` client and the server.
//!
//! Every request and response carries [`PROTOCOL_VERSION`] (in the JSON
//! body and in the [`PROTOCOL_HEADER`] header), so that a client and a
//! server of different ages can tell each other so plainly.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::area::AreaCode;
use crate::hlc::Hlc;
use crate::merge::{Field, Fields};
use crate::nik::{Nik, ReplicaKey, mask_name, nik_lookup_hash};
use crate::registration::{Category, Status};

/// The protocol spoken by this build. Version 2 added the `pending` and
/// `superseded` outcomes, `Receipt::max_seq` and the void details of
/// `PersonState`; a version-1 client could not read those answers, so it
/// is told to upgrade. Version 3 keys the feed's `nik_hash` with the
/// deployment's [`ReplicaKey`] (fetched from
/// `GET /api/v1/sync/device/{id}/key`); a version-2 client would compute
/// the old unkeyed hash and find nobody in its replica, so it is told to
/// upgrade too.
pub const PROTOCOL_VERSION: u32 = 3;
/// The oldest protocol a server of this build still accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 3;
/// HTTP header that carries the protocol version on every request and
/// response.
pub const PROTOCOL_HEADER: &str = "x-sigap-protocol";

/// HTTP header of a pull answer: the page's `next_cursor`, followed by
/// `+` when `has_more` (e.g. `81234+`), as in its body. A client reads it
/// before the body, so it can ask for the next page while it decodes
/// this one; a server without it is asked one page after another.
pub const PULL_NEXT_HEADER: &str = "x-sigap-pull-next";

/// [`PULL_NEXT_HEADER`]'s value for a page.
pub fn pull_next_value(next_cursor: u64, has_more: bool) -> String {
    if has_more {
        format!("{next_cursor}+")
    } else {
        next_cursor.to_string()
    }
}

/// Reads a [`PULL_NEXT_HEADER`] value: the next cursor and whether more
/// follow; `None` when it is not one.
pub fn parse_pull_next(value: &str) -> Option<(u64, bool)> {
    let (digits, more) = match value.strip_suffix('+') {
        Some(d) => (d, true),
        None => (value, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, more))
}

/// Most changes a client sends in one push.
pub const MAX_PUSH_CHANGES: usize = 10000;
/// Most persons a server returns in one pull page.
pub const MAX_PULL_LIMIT: usize = 5000;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new registration, with every field.
    Register,
    /// Some fields of an existing registration.
    Edit,
    /// Marks a registration void (writes `status` and `void_reason`).
    Void,
}

/// One change made on a device: the unit of sync.
// Unknown fields are refused: a misspelt field would otherwise be a change
// that silently writes nothing. A newer client's fields come with a newer
// protocol version, which the server checks first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Globally unique (UUIDv7, made on the device).
    pub id: Uuid,
    pub device_id: Uuid,
    /// Position in the device's outbox log: 1, 2, 3… without gaps.
    pub device_seq: u64,
    pub nik: Nik,
    pub hlc: Hlc,
    pub kind: ChangeKind,
    pub fields: Fields,
}

/// A batch of changes from one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: Uuid,
    pub changes: Vec<Change>,
    /// How many changes the device still has queued besides these, for
    /// supervisors' view of devices. Optional: older clients omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
}

/// What the server did with one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Applied: made a new person or updated one this device registered.
    Applied,
    /// Already seen (same change id): nothing applied again.
    Duplicate,
    /// Applied to a person another source had already registered.
    Merged,
    /// Accepted and logged, but later writes the server already holds
    /// (from another device, the roll or a supervisor) keep these fields:
    /// the record shows their values, not this change's. `by` names who
    /// wrote what the server keeps (agents' token names, `supervisor
    /// NAME`, `membership roll`).
    Superseded { fields: Vec<Field>, by: Vec<String> },
    /// Not applied yet: earlier numbers of the same device are missing.
    /// Nothing is kept; send the change again after the earlier ones.
    Pending,
    /// Refused for good; `code` is stable, `reason` says how to fix it.
    Rejected { code: String, reason: String },
}

impl Outcome {
    /// Whether the server now holds the change (in the device's log).
    pub fn is_held(&self) -> bool {
        !matches!(self, Outcome::Pending)
    }
}

/// The answer for one change of a push: `{"id", "device_seq", "outcome"}`
/// and, for a rejection, `"code"` and `"reason"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FlatResult", into = "FlatResult")]
pub struct ChangeResult {
    pub id: Uuid,
    pub device_seq: u64,
    pub outcome: Outcome,
}

/// [`ChangeResult`] as it is written: a push answers thousands of them,
/// and this plain struct reads several times faster than the same shape
/// through `#[serde(flatten)]`.
#[derive(Serialize, Deserialize)]
struct FlatResult {
    id: Uuid,
    device_seq: u64,
    outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<Field>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<Vec<String>>,
}

impl From<ChangeResult> for FlatResult {
    fn from(r: ChangeResult) -> FlatResult {
        let (outcome, code, reason, fields, by) = match r.outcome {
            Outcome::Applied => ("applied", None, None, None, None),
            Outcome::Merged => ("merged", None, None, None, None),
            Outcome::Duplicate => ("duplicate", None, None, None, None),
            Outcome::Superseded { fields, by } => {
                ("superseded", None, None, Some(fields), Some(by))
            }
            Outcome::Pending => ("pending", None, None, None, None),
            Outcome::Rejected { code, reason } => {
                ("rejected", Some(code), Some(reason), None, None)
            }
        };
        FlatResult {
            id: r.id,
            device_seq: r.device_seq,
            outcome: outcome.to_string(),
            code,
            reason,
            fields,
            by,
        }
    }
}

impl TryFrom<FlatResult> for ChangeResult {
    type Error = String;
    fn try_from(r: FlatResult) -> Result<ChangeResult, String> {
        let outcome = match (r.outcome.as_str(), r.code, r.reason) {
            ("applied", _, _) => Outcome::Applied,
            ("merged", _, _) => Outcome::Merged,
            ("duplicate", _, _) => Outcome::Duplicate,
            ("pending", _, _) => Outcome::Pending,
            ("superseded", _, _) => Outcome::Superseded {
                fields: r.fields.unwrap_or_default(),
                by: r.by.unwrap_or_default(),
            },
            ("rejected", Some(code), Some(reason)) => Outcome::Rejected { code, reason },
            ("rejected", _, _) => return Err("a rejected change needs a code and a reason".into()),
            (other, _, _) => {
                return Err(format!(
                    "unknown outcome variant `{other}`, expected one of `applied`, `merged`, `duplicate`, `superseded`, `pending`, `rejected`"
                ));
            }
        };
        Ok(ChangeResult {
            id: r.id,
            device_seq: r.device_seq,
            outcome,
        })
    }
}

/// Proof of delivery: how many changes the server holds from a device and
/// a hash over their ids (see [`ReceiptHash`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub device_id: Uuid,
    pub count: u64,
    /// Highest `device_seq` such that every sequence up to it is held.
    pub highest_seq: u64,
    /// Highest `device_seq` held at all. Above the device's own newest
    /// number, it tells a device restored from an old backup that the
    /// server holds numbers it no longer has (it renumbers after it).
    #[serde(default)]
    pub max_seq: u64,
    pub hash: String,
}

/// The answer to a push, sent only after the whole batch is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub protocol: u32,
    pub results: Vec<ChangeResult>,
    pub receipt: Receipt,
}

/// A merged person as an agent's replica keeps it: enough to answer "is
/// this NIK already registered, or a participant?" offline, and nothing
/// more. NIKs and names are personal data that only a supervisor of the area
/// may read, so the feed carries no NIK and no full name: the person is
/// found by [`nik_lookup_hash`] of the NIK the agent types, and shown with
/// the masked NIK and name. Birth date, sex, phone, occupation and employer
/// are not sent at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonState {
    /// [`nik_lookup_hash`] of the person's NIK.
    pub nik_hash: String,
    /// [`Nik::masked_for_replica`], e.g. `**************01`.
    pub nik_masked: String,
    /// [`mask_name`] of the merged name, e.g. `B*** S******` (none for a
    /// membership-roll person nobody has registered in the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_masked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kelurahan: Option<AreaCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rw: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Already in the membership roll (an existing participant).
    pub participant: bool,
    /// Name of the agent who first registered the person in the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    /// When (Unix milliseconds) the person was first registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<u64>,
    /// For a void: when (Unix milliseconds, the void's clock) and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
    /// Who made the person's latest write: an agent's token name,
    /// `supervisor NAME` or `membership roll`. A device compares the feed
    /// with its own record to show what others changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed_by: Option<String>,
    /// When (Unix milliseconds, the erasure's clock) an admin erased the
    /// person's personal data on the server (name, phone, occupation,
    /// employer and void reason, see [`crate::erasure`]). A device that
    /// holds its own record of the person overwrites those fields in it
    /// and in the changes it has sent, for writes up to this time. Absent
    /// for a person never erased, and from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<u64>,
    /// The server's change-feed sequence of this person's latest change.
    pub seq: u64,
}

impl PersonState {
    /// The masked state of a person's merged fields, with `participant`
    /// false, no `registered_by`/`registered_at`/`voided_at`/`erased_at`
    /// and `seq` 0: fill
    /// those in with struct update syntax.
    pub fn masked(key: &ReplicaKey, nik: &Nik, fields: &Fields) -> PersonState {
        PersonState {
            nik_hash: nik_lookup_hash(key, nik),
            nik_masked: nik.masked_for_replica(),
            name_masked: fields.name.as_deref().map(mask_name),
            kelurahan: fields.kelurahan,
            rw: fields.rw,
            rt: fields.rt,
            category: fields.category,
            status: fields.status,
            participant: false,
            registered_by: None,
            registered_at: None,
            voided_at: None,
            last_changed_by: None,
            erased_at: None,
            void_reason: (fields.status == Some(Status::Void))
                .then(|| fields.void_reason.clone())
                .flatten()
                .filter(|r| !r.trim().is_empty()),
            seq: 0,
        }
    }

    /// Whether this is the person with `nik`.
    pub fn is_for(&self, key: &ReplicaKey, nik: &Nik) -> bool {
        self.nik_hash == nik_lookup_hash(key, nik)
    }
}

/// The deployment's replica key, for an enrolled device
/// (`GET /api/v1/sync/device/{device_id}/key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaKeyResponse {
    pub protocol: u32,
    /// [`ReplicaKey::to_hex`]: 64 hexadecimal digits.
    pub key: String,
}

/// One page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullPage {
    pub protocol: u32,
    pub persons: Vec<PersonState>,
    /// Pass this as `cursor` to get the next page.
    pub next_cursor: u64,
    pub has_more: bool,
}

/// What the server holds from one device (`GET /api/v1/sync/device`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceStatus {
    pub protocol: u32,
    pub receipt: Receipt,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable code, a message for people and optional details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// An order-independent hash over change ids: the XOR of SHA-256 of each
/// id. It can be kept up to date one id at a time, and two sides that hold
/// the same set of ids get the same hash whatever the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiptHash([u8; 32]);

impl ReceiptHash {
    /// Adds one id.
    pub fn add(&mut self, id: &Uuid) {
        self.add_digest(&ReceiptHash::digest(id));
    }

    /// The part one id contributes, which [`ReceiptHash::add_digest`]
    /// adds: made apart so that a server can work it out before it takes
    /// its write lock.
    pub fn digest(id: &Uuid) -> [u8; 32] {
        Sha256::digest(id.as_bytes()).into()
    }

    pub fn add_digest(&mut self, digest: &[u8; 32]) {
        for (acc, b) in self.0.iter_mut().zip(digest.iter()) {
            *acc ^= b;
        }
    }

    /// The hash of a set of ids.
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a Uuid>) -> ReceiptHash {
        let mut h = ReceiptHash::default();
        for id in ids {
            h.add(id);
        }
        h
    }

    /// Hex text, as carried in [`Receipt::hash`].
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads [`ReceiptHash::to_hex`] back.
    pub fn from_hex(text: &str) -> Option<ReceiptHash> {
        let bytes = hex::decode(text).ok()?;
        Some(ReceiptHash(bytes.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    const KEY: ReplicaKey = ReplicaKey::from_bytes([1; 32]);

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &T) {
        let json = serde_json::to_string(v).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, v, "{json}");
    }

    fn change() -> Change {
        let device = Uuid::now_v7();
        Change {
            id: Uuid::now_v7(),
            device_id: device,
            device_seq: 1,
            nik: Nik::parse("3372011203850001").unwrap(),
            hlc: Hlc {
                millis: 1_764_000_000_000,
                counter: 0,
                device,
            },
            kind: ChangeKind::Register,
            fields: Fields {
                name: Some("Budi".into()),
                kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
                category: Some(Category::Bpu),
                birth_date: Some(time::macros::date!(1985 - 03 - 12)),
                status: Some(Status::Registered),
                ..Default::default()
            },
        }
    }

    #[test]
    fn push_round_trips() {
        let c = change();
        round_trip(&PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: c.device_id,
            changes: vec![c.clone()],
            pending: None,
        });
        let results = vec![
            ChangeResult {
                id: c.id,
                device_seq: 1,
                outcome: Outcome::Applied,
            },
            ChangeResult {
                id: c.id,
                device_seq: 2,
                outcome: Outcome::Duplicate,
            },
            ChangeResult {
                id: c.id,
                device_seq: 3,
                outcome: Outcome::Merged,
            },
            ChangeResult {
                id: c.id,
                device_seq: 5,
                outcome: Outcome::Superseded {
                    fields: vec![Field::Name, Field::Status],
                    by: vec!["supervisor sari".into()],
                },
            },
            ChangeResult {
                id: c.id,
                device_seq: 6,
                outcome: Outcome::Pending,
            },
            ChangeResult {
                id: c.id,
                device_seq: 4,
                outcome: Outcome::Rejected {
                    code: "area_not_assigned".into(),
                    reason: "x".into(),
                },
            },
        ];
        let receipt = Receipt {
            device_id: c.device_id,
            count: 4,
            highest_seq: 4,
            max_seq: 4,
            hash: ReceiptHash::of([&c.id]).to_hex(),
        };
        round_trip(&PushResponse {
            protocol: PROTOCOL_VERSION,
            results,
            receipt: receipt.clone(),
        });
        round_trip(&DeviceStatus {
            protocol: PROTOCOL_VERSION,
            receipt,
        });
    }

    #[test]
    fn wire_format_is_readable_json() {
        let json = serde_json::to_value(change()).unwrap();
        assert_eq!(json["nik"], "3372011203850001");
        assert_eq!(json["kind"], "register");
        assert_eq!(json["fields"]["kelurahan"], "33.72.01.1001");
        assert_eq!(json["fields"]["birth_date"], "1985-03-12");
        assert!(json["fields"].get("phone").is_none());
        let r = ChangeResult {
            id: Uuid::nil(),
            device_seq: 4,
            outcome: Outcome::Rejected {
                code: "c".into(),
                reason: "r".into(),
            },
        };
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(
            (v["outcome"].as_str(), v["code"].as_str()),
            (Some("rejected"), Some("c"))
        );
    }

    #[test]
    fn a_result_is_one_flat_object() {
        let applied = ChangeResult {
            id: Uuid::nil(),
            device_seq: 1,
            outcome: Outcome::Applied,
        };
        assert_eq!(
            serde_json::to_string(&applied).unwrap(),
            format!(
                "{{\"id\":\"{}\",\"device_seq\":1,\"outcome\":\"applied\"}}",
                Uuid::nil()
            )
        );
        let unknown = format!(
            "{{\"id\":\"{}\",\"device_seq\":1,\"outcome\":\"lost\"}}",
            Uuid::nil()
        );
        assert!(serde_json::from_str::<ChangeResult>(&unknown).is_err());
        let bare = format!(
            "{{\"id\":\"{}\",\"device_seq\":1,\"outcome\":\"rejected\"}}",
            Uuid::nil()
        );
        assert!(serde_json::from_str::<ChangeResult>(&bare).is_err());
    }

    #[test]
    fn pull_page_round_trips() {
        let c = change();
        let p = PersonState {
            participant: true,
            registered_by: Some("agent-1".into()),
            registered_at: Some(1),
            seq: 9,
            ..PersonState::masked(&KEY, &c.nik, &c.fields)
        };
        let roll_only = PersonState {
            participant: true,
            seq: 10,
            ..PersonState::masked(&KEY, &c.nik, &Fields::default())
        };
        round_trip(&PullPage {
            protocol: PROTOCOL_VERSION,
            persons: vec![p, roll_only],
            next_cursor: 10,
            has_more: false,
        });
        round_trip(&ErrorBody {
            error: ErrorDetail {
                code: "invalid_nik".into(),
                message: "m".into(),
                details: None,
            },
        });
    }

    #[test]
    fn the_pull_next_header_reads_back_what_it_writes() {
        for (cursor, more) in [(0, false), (0, true), (81_234, true), (u64::MAX, false)] {
            let v = pull_next_value(cursor, more);
            assert_eq!(parse_pull_next(&v), Some((cursor, more)), "{v}");
        }
        assert_eq!(pull_next_value(7, true), "7+");
        for bad in ["", "+", "-1", "12a", " 12", "1+2", "18446744073709551616"] {
            assert_eq!(parse_pull_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn erased_at_is_optional_both_ways() {
        let c = change();
        let plain = PersonState {
            seq: 4,
            ..PersonState::masked(&KEY, &c.nik, &c.fields)
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("erased_at"), "{text}");
        // What an older server sends (no such field) reads as not erased.
        let back: PersonState = serde_json::from_str(&text).unwrap();
        assert_eq!(back.erased_at, None);
        let erased = PersonState {
            erased_at: Some(1_764_200_000_000),
            ..plain
        };
        round_trip(&erased);
        let json = serde_json::to_value(&erased).unwrap();
        assert_eq!(json["erased_at"], 1_764_200_000_000u64);
    }

    #[test]
    fn person_state_carries_no_full_nik_nor_name() {
        let mut c = change();
        c.fields.name = Some("Budi Santoso".into());
        c.fields.phone = Some("081234567890".into());
        c.fields.occupation = Some("pedagang".into());
        c.fields.employer = Some("PT Batik Solo".into());
        c.fields.sex = Some(crate::registration::Sex::L);
        c.fields.rw = Some(3);
        c.fields.rt = Some(5);
        let p = PersonState {
            registered_by: Some("agent-budi".into()),
            registered_at: Some(1_764_000_000_000),
            seq: 3,
            ..PersonState::masked(&KEY, &c.nik, &c.fields)
        };
        let text = serde_json::to_string(&p).unwrap();
        for secret in [
            "3372011203850001",
            "Budi",
            "Santoso",
            "081234567890",
            "1985",
            "pedagang",
            "Batik",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["nik_hash"], nik_lookup_hash(&KEY, &c.nik));
        assert_eq!(json["nik_masked"], "**************01");
        assert_eq!(json["name_masked"], "B*** S******");
        assert_eq!(json["kelurahan"], "33.72.01.1001");
        assert_eq!(
            (json["rw"].as_u64(), json["rt"].as_u64()),
            (Some(3), Some(5))
        );
        assert_eq!(json["category"], "bpu");
        assert_eq!(json["status"], "registered");
        for gone in ["nik", "fields", "name", "birth_date", "sex", "phone"] {
            assert!(json.get(gone).is_none(), "{gone} in {text}");
        }
        assert!(p.is_for(&KEY, &c.nik));
        assert!(!p.is_for(&KEY, &Nik::parse("3372011203850002").unwrap()));
        assert!(!p.is_for(&ReplicaKey::from_bytes([2; 32]), &c.nik));
    }

    #[test]
    fn a_bad_nik_on_the_wire_is_a_decode_error() {
        let mut json = serde_json::to_value(change()).unwrap();
        json["nik"] = "3372011203850000".into();
        let err = serde_json::from_value::<Change>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("serial 0000"), "{err}");
    }

    #[test]
    fn receipt_hash_ignores_order_and_detects_a_missing_id() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let forward = ReceiptHash::of(&ids);
        let backward = ReceiptHash::of(ids.iter().rev());
        assert_eq!(forward, backward);
        assert_ne!(forward, ReceiptHash::of(&ids[1..]));
        assert_eq!(ReceiptHash::from_hex(&forward.to_hex()), Some(forward));
    }
}
