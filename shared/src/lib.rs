//! # sigap-shared: the SIGAP domain
//!
//! The types and rules that the field tool (`sigap`) and the server
//! (`sigap-server`) share, so that they cannot disagree about what a valid
//! NIK is or how two versions of a record merge. No I/O happens here.
//!
//! - [`nik`]: the 16-digit NIK, its region, birth date and sex, masked form.
//! - [`area`]: Kemendagri area codes from province down to RW and RT.
//! - [`wilayah`]: the compiled-in Kota Surakarta area table (names by code,
//!   kelurahan by typed name).
//! - [`registration`]: a registration and its validation (errors refuse,
//!   warnings are kept and shown).
//! - [`hlc`]: the hybrid logical clock that orders writes.
//! - [`merge`]: per-field last-writer-wins merge of a person's record.
//! - [`coverage`]: Universal Coverage Jamsostek arithmetic in integers.
//! - [`erasure`]: which fields an erasure of personal data overwrites,
//!   and with what.
//! - [`csv_format`]: CSV delimiter detection and line numbers for imports.
//! - [`import_row`]: one typed registration (a CSV row of an import, or
//!   flags) checked into a registration, or a problem per field.
//! - [`locale`]: the two languages, and their numbers and dates.
//! - [`wire`]: the sync protocol's request and response types.
//! - [`visit_wire`]: the RT visits the field kit syncs.
//! - `openapi` (feature `openapi`): schemas of the string-shaped types.

pub mod area;
pub mod coverage;
pub mod csv_format;
mod digits;
pub mod erasure;
pub mod hlc;
pub mod import_row;
pub mod locale;
pub mod merge;
pub mod nik;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod registration;
pub mod visit_wire;
pub mod wilayah;
pub mod wire;

pub use area::{AreaCode, AreaError, Level};
pub use coverage::{Figures, Percent, Target};
pub use hlc::{Hlc, HlcClock};
pub use locale::Lang;
pub use merge::{Field, Fields, PersonRecord};
pub use nik::{Nik, NikError, ReplicaKey, ReplicaKeyError, mask_name, mask_nik, nik_lookup_hash};
pub use registration::{Category, Issue, Program, Registration, Sex, Status, Validation};
pub use wire::{Change, ChangeKind, Outcome, PROTOCOL_VERSION};

/// Today's date (UTC) by the system clock.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
