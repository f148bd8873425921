//! The merge rule. A person's record is a set of fields, each carrying the
//! [`Hlc`] of its last write. Merging two records keeps, per field, the
//! later write; a void is a write of `status` (and `void_reason`) like any
//! other. The rule is commutative, associative and idempotent, so every
//! replica that has seen the same changes holds the same record whatever
//! the order it saw them in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::area::AreaCode;
use crate::hlc::Hlc;
use crate::nik::Nik;
use crate::registration::{Category, Issue, Program, Registration, Sex, Status, normalize_name};

/// A set of field values; `None` means "not written by this change".
/// For the optional texts (`phone`, `employer`, `void_reason`) an empty
/// string is a write that clears the value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Fields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kelurahan: Option<AreaCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rw: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<BTreeSet<Program>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
}

/// The name of one field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    BirthDate,
    Sex,
    Phone,
    Kelurahan,
    Rw,
    Rt,
    Category,
    Occupation,
    Employer,
    Programs,
    Status,
    VoidReason,
}

impl Field {
    /// The fields that say who a person is. Two sources that disagree on
    /// one of these open a conflict for a supervisor.
    pub const IDENTITY: [Field; 3] = [Field::Name, Field::BirthDate, Field::Sex];

    /// Every field, in the order of their bits ([`Field::bit`]).
    pub const ALL: [Field; 13] = [
        Field::Name,
        Field::BirthDate,
        Field::Sex,
        Field::Phone,
        Field::Kelurahan,
        Field::Rw,
        Field::Rt,
        Field::Category,
        Field::Occupation,
        Field::Employer,
        Field::Programs,
        Field::Status,
        Field::VoidReason,
    ];

    /// Every field's bit.
    pub const ALL_BITS: u32 = (1 << Field::ALL.len()) - 1;

    /// The field's bit in a stored record's stamps
    /// ([`Stamps::serialize_stored`]). Stored data depends on it: a new
    /// field takes the next bit, and no field's bit ever moves.
    pub fn bit(self) -> u32 {
        1 << match self {
            Field::Name => 0,
            Field::BirthDate => 1,
            Field::Sex => 2,
            Field::Phone => 3,
            Field::Kelurahan => 4,
            Field::Rw => 5,
            Field::Rt => 6,
            Field::Category => 7,
            Field::Occupation => 8,
            Field::Employer => 9,
            Field::Programs => 10,
            Field::Status => 11,
            Field::VoidReason => 12,
        }
    }

    /// The field's name as used in flags, files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Phone => "phone",
            Field::Kelurahan => "kelurahan",
            Field::Rw => "rw",
            Field::Rt => "rt",
            Field::Category => "category",
            Field::Occupation => "occupation",
            Field::Employer => "employer",
            Field::Programs => "programs",
            Field::Status => "status",
            Field::VoidReason => "void_reason",
        }
    }
}

impl Field {
    /// The field named `name` (as [`Field::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Calls the macro `$m!(field_ident, FieldVariant)` once for every field,
/// so per-field code is written once and cannot forget a field.
macro_rules! for_each_field {
    ($m:ident) => {
        $m!(name, Name);
        $m!(birth_date, BirthDate);
        $m!(sex, Sex);
        $m!(phone, Phone);
        $m!(kelurahan, Kelurahan);
        $m!(rw, Rw);
        $m!(rt, Rt);
        $m!(category, Category);
        $m!(occupation, Occupation);
        $m!(employer, Employer);
        $m!(programs, Programs);
        $m!(status, Status);
        $m!(void_reason, VoidReason);
    };
}

/// Takes `$theirs`, written at `$stamp`, into field `$f` of `$rec` when it
/// wins over what the record holds there (or the record holds nothing),
/// and notes the field in `$changed`: the one rule of [`PersonRecord::apply`]
/// and [`PersonRecord::merge_from`].
macro_rules! fold_field {
    ($rec:expr, $changed:expr, $f:ident, $tag:ident, $theirs:expr, $stamp:expr) => {{
        let (theirs, their_stamp) = ($theirs, $stamp);
        let take = match (&$rec.fields.$f, $rec.stamps.0.get(&Field::$tag)) {
            (Some(ours), Some(our_stamp)) => wins(their_stamp, theirs, our_stamp, ours),
            _ => true,
        };
        if take {
            $rec.fields.$f = Some(theirs.clone());
            $rec.stamps.0.insert(Field::$tag, *their_stamp);
            $changed.push(Field::$tag);
        }
    }};
}

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

impl Fields {
    /// Every field of a registration, as written by a new registration.
    pub fn from_registration(r: &Registration) -> Fields {
        Fields {
            name: Some(r.name.trim().to_string()),
            birth_date: Some(r.birth_date),
            sex: Some(r.sex),
            phone: Some(r.phone.clone().unwrap_or_default()),
            kelurahan: Some(r.kelurahan),
            rw: Some(r.rw),
            rt: Some(r.rt),
            category: Some(r.category),
            occupation: Some(r.occupation.trim().to_string()),
            employer: Some(r.employer.clone().unwrap_or_default()),
            programs: Some(r.programs.clone()),
            status: Some(r.status),
            void_reason: Some(r.void_reason.clone().unwrap_or_default()),
        }
    }

    /// The registration these fields describe, or the names of the
    /// required fields that are missing.
    pub fn to_registration(&self, nik: &Nik) -> Result<Registration, Vec<Field>> {
        let mut missing = Vec::new();
        macro_rules! need {
            ($f:ident, $tag:ident) => {
                if self.$f.is_none() {
                    missing.push(Field::$tag);
                }
            };
        }
        need!(name, Name);
        need!(birth_date, BirthDate);
        need!(sex, Sex);
        need!(kelurahan, Kelurahan);
        need!(rw, Rw);
        need!(rt, Rt);
        need!(category, Category);
        need!(occupation, Occupation);
        match (
            &self.name,
            self.birth_date,
            self.sex,
            self.kelurahan,
            self.rw,
            self.rt,
            self.category,
            &self.occupation,
        ) {
            (
                Some(name),
                Some(birth_date),
                Some(sex),
                Some(kelurahan),
                Some(rw),
                Some(rt),
                Some(category),
                Some(occupation),
            ) => Ok(Registration {
                nik: nik.clone(),
                name: name.clone(),
                birth_date,
                sex,
                phone: blank_to_none(&self.phone),
                kelurahan,
                rw,
                rt,
                category,
                occupation: occupation.clone(),
                employer: blank_to_none(&self.employer),
                programs: self.programs.clone().unwrap_or_default(),
                status: self.status.unwrap_or(Status::Registered),
                void_reason: blank_to_none(&self.void_reason),
            }),
            _ => Err(missing),
        }
    }

    /// Whether every field a registration requires is present: what
    /// [`Fields::to_registration`] checks, without building one.
    pub fn is_complete(&self) -> bool {
        self.name.is_some()
            && self.birth_date.is_some()
            && self.sex.is_some()
            && self.kelurahan.is_some()
            && self.rw.is_some()
            && self.rt.is_some()
            && self.category.is_some()
            && self.occupation.is_some()
    }

    /// Which fields this set writes.
    pub fn written(&self) -> Vec<Field> {
        let mut out = Vec::new();
        macro_rules! w {
            ($f:ident, $tag:ident) => {
                if self.$f.is_some() {
                    out.push(Field::$tag);
                }
            };
        }
        for_each_field!(w);
        out
    }

    /// Identity fields both sets write with different values. Names are
    /// compared after [`normalize_name`], so case and spacing never conflict.
    pub fn identity_disagreements(&self, other: &Fields) -> Vec<Field> {
        let mut out = Vec::new();
        if let (Some(a), Some(b)) = (&self.name, &other.name)
            && normalize_name(a) != normalize_name(b)
        {
            out.push(Field::Name);
        }
        if let (Some(a), Some(b)) = (self.birth_date, other.birth_date)
            && a != b
        {
            out.push(Field::BirthDate);
        }
        if let (Some(a), Some(b)) = (self.sex, other.sex)
            && a != b
        {
            out.push(Field::Sex);
        }
        out
    }

    /// The errors in what these fields carry, judged on them alone, never
    /// on a record they may later merge into: a server decides whether to
    /// accept a change with this, so that the decision cannot depend on
    /// which other changes arrived first. A rule between a written field
    /// and one not written (a PU needs an employer when the change writes
    /// only the category) is left to the merged record
    /// ([`PersonRecord::review`]). `today` is the change's date.
    pub fn carried_errors(&self, nik: &Nik, today: Date) -> Vec<Issue> {
        let written = self.written();
        let writes = |f: Field| written.contains(&f);
        // Values that pass every rule stand in for the fields not
        // written, so that `Registration::validate` (the one statement of
        // the rules) judges the written ones.
        let category = self.category.unwrap_or(Category::Bpu);
        let stand_in = Registration {
            nik: nik.clone(),
            name: self.name.clone().unwrap_or_else(|| "X".into()),
            birth_date: self
                .birth_date
                .unwrap_or_else(|| nik.birth_date_before(today)),
            sex: self.sex.unwrap_or_else(|| nik.sex()),
            phone: blank_to_none(&self.phone),
            kelurahan: match self.kelurahan {
                Some(k) => k,
                None => match nik.district_code().with_village(1001) {
                    Ok(k) => k,
                    // Unreachable for a parsed NIK; judged without an
                    // address rather than not at all.
                    Err(_) => nik.district_code(),
                },
            },
            rw: self.rw.unwrap_or(1),
            rt: self.rt.unwrap_or(1),
            category,
            occupation: self.occupation.clone().unwrap_or_else(|| "x".into()),
            employer: match &self.employer {
                Some(_) => blank_to_none(&self.employer),
                None => Some("x".into()),
            },
            programs: self
                .programs
                .clone()
                .unwrap_or_else(|| category.required_programs().iter().copied().collect()),
            status: self.status.unwrap_or(Status::Registered),
            void_reason: blank_to_none(&self.void_reason),
        };
        stand_in
            .validate(today)
            .errors
            .into_iter()
            .filter(|e| match e.code.as_str() {
                "missing_employer" => writes(Field::Category) && writes(Field::Employer),
                "missing_program" | "program_not_allowed" => {
                    writes(Field::Category) && writes(Field::Programs)
                }
                "missing_void_reason" => writes(Field::Status),
                _ => Field::from_name(&e.field).is_some_and(writes),
            })
            .collect()
    }

    /// The fields among `among` whose value here differs from `other`'s.
    pub fn differing(&self, other: &Fields, among: &[Field]) -> Vec<Field> {
        let mut out = Vec::new();
        macro_rules! d {
            ($f:ident, $tag:ident) => {
                if among.contains(&Field::$tag) && self.$f != other.$f {
                    out.push(Field::$tag);
                }
            };
        }
        for_each_field!(d);
        out
    }

    /// The address RT, when kelurahan, RW and RT are all known.
    pub fn address_area(&self) -> Option<AreaCode> {
        self.kelurahan?.with_rw_rt(self.rw?, self.rt?).ok()
    }

    /// Whether the record counts towards coverage: live and with an address.
    pub fn is_live(&self) -> bool {
        self.status != Some(Status::Void) && self.kelurahan.is_some()
    }
}

/// The per-field timestamps of a record; a field never written has none.
///
/// Serialised grouped by timestamp (`{"<sortable hlc>": ["name", …]}`):
/// most records hold one or two distinct timestamps, so this is a fraction
/// of the size of one timestamp per field, which matters for every stored
/// record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamps(pub BTreeMap<Field, Hlc>);

impl Serialize for Stamps {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_groups(s, Form::Names)
    }
}

impl Stamps {
    /// The stored form (a server's person records): each group's fields
    /// as a bit mask ([`Field::bit`]) rather than a list of names, a
    /// quarter of a registration's record (`{"<hlc>": 8191}` against the
    /// 13 names). [`Stamps`]' `Deserialize` reads both forms; what people
    /// read (an API's JSON, the field database) keeps the names.
    pub fn serialize_stored<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_groups(s, Form::Masks)
    }

    /// [`Stamps::serialize_stored`] as a value to serialise.
    pub fn stored(&self) -> StoredStamps<'_> {
        StoredStamps(self)
    }

    fn serialize_groups<S: serde::Serializer>(&self, s: S, form: Form) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // Grouped by timestamp first, so each one is written out once
        // (the text form sorts like the timestamp, so the order holds).
        // A sort of at most one entry per field, stable so that each
        // group keeps the fields' order: every saved record is written
        // through here, and a map of groups cost an allocation per group.
        let mut by_time: Vec<(Hlc, Field)> = self.0.iter().map(|(f, h)| (*h, *f)).collect();
        by_time.sort_by_key(|(h, _)| *h);
        let fields: Vec<Field> = by_time.iter().map(|(_, f)| *f).collect();
        let mut map = s.serialize_map(None)?;
        let mut start = 0;
        while let Some((hlc, _)) = by_time.get(start) {
            let len = by_time[start..]
                .iter()
                .take_while(|(h, _)| h == hlc)
                .count();
            let group = &fields[start..start + len];
            match form {
                Form::Names => map.serialize_entry(&hlc.to_sortable(), group)?,
                Form::Masks => map.serialize_entry(
                    &hlc.to_sortable(),
                    &group.iter().fold(0u32, |mask, f| mask | f.bit()),
                )?,
            }
            start += len;
        }
        map.end()
    }
}

/// How [`Stamps`] write each group's fields.
#[derive(Clone, Copy)]
enum Form {
    Names,
    Masks,
}

/// [`Stamps`] in their stored form ([`Stamps::serialize_stored`]).
pub struct StoredStamps<'a>(&'a Stamps);

impl Serialize for StoredStamps<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_stored(s)
    }
}

/// One group's fields as written: names, or the stored form's mask.
struct GroupFields(Vec<Field>);

impl<'de> Deserialize<'de> for GroupFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = GroupFields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of field names or a field mask")
            }
            fn visit_u64<E: serde::de::Error>(self, mask: u64) -> Result<GroupFields, E> {
                if mask & !u64::from(Field::ALL_BITS) != 0 {
                    return Err(E::custom(format!(
                        "field mask {mask} names no field (a record from a newer sigap-server?)"
                    )));
                }
                Ok(GroupFields(
                    Field::ALL
                        .into_iter()
                        .filter(|f| mask & u64::from(f.bit()) != 0)
                        .collect(),
                ))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<GroupFields, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(f) = seq.next_element()? {
                    out.push(f);
                }
                Ok(GroupFields(out))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A group's timestamp, read straight from its key's text.
struct GroupKey(Hlc);

impl<'de> Deserialize<'de> for GroupKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = GroupKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<GroupKey, E> {
                Hlc::from_sortable(text)
                    .map(GroupKey)
                    .ok_or_else(|| E::custom(format!("timestamp {text:?} is not valid")))
            }
        }
        d.deserialize_str(Visit)
    }
}

impl<'de> Deserialize<'de> for Stamps {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Stamps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of timestamps to fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Stamps, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((GroupKey(hlc), GroupFields(fields))) = map.next_entry()? {
                    // A field named in two groups (never written so)
                    // keeps the later timestamp, as when groups were
                    // read in the order of their keys.
                    for f in fields {
                        let at = out.entry(f).or_insert(hlc);
                        *at = (*at).max(hlc);
                    }
                }
                Ok(Stamps(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A person as merged from every change seen: one per NIK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub nik: Nik,
    pub fields: Fields,
    /// A whole record is written as it is stored (masks); API answers
    /// and the field database serialise `stamps` alone, by name.
    #[serde(serialize_with = "Stamps::serialize_stored")]
    pub stamps: Stamps,
}

impl PersonRecord {
    /// An empty record for `nik`.
    pub fn new(nik: Nik) -> PersonRecord {
        PersonRecord {
            nik,
            fields: Fields::default(),
            stamps: Stamps::default(),
        }
    }

    /// The record made by one write of `fields` at `hlc`.
    pub fn from_write(nik: Nik, fields: &Fields, hlc: Hlc) -> PersonRecord {
        let stamps = fields.written().into_iter().map(|f| (f, hlc)).collect();
        PersonRecord {
            nik,
            fields: fields.clone(),
            stamps: Stamps(stamps),
        }
    }

    /// Folds one write into this record. Returns the fields it changed.
    ///
    /// The same as merging `from_write(nik, fields, hlc)` in (a proptest
    /// says so), without building that record: a push applies every
    /// change this way, and the record cloned every value twice.
    pub fn apply(&mut self, fields: &Fields, hlc: Hlc) -> Vec<Field> {
        let mut changed = Vec::new();
        macro_rules! a {
            ($f:ident, $tag:ident) => {
                if let Some(theirs) = &fields.$f {
                    fold_field!(self, changed, $f, $tag, theirs, &hlc);
                }
            };
        }
        for_each_field!(a);
        changed
    }

    /// Merges `other` into `self`, keeping per field the later write.
    /// Returns the fields whose value or stamp changed.
    pub fn merge_from(&mut self, other: &PersonRecord) -> Vec<Field> {
        let mut changed = Vec::new();
        macro_rules! m {
            ($f:ident, $tag:ident) => {
                if let (Some(theirs), Some(their_stamp)) =
                    (&other.fields.$f, other.stamps.0.get(&Field::$tag))
                {
                    fold_field!(self, changed, $f, $tag, theirs, their_stamp);
                }
            };
        }
        for_each_field!(m);
        changed
    }

    /// What a supervisor must review in the merged record: the rules that
    /// need the whole record (a PU needs an employer, programmes follow
    /// the category, …) and, for a record that is not a whole registration
    /// (an edit whose registration has not arrived), what is missing.
    /// Depends on the record alone, so every order of the same changes
    /// gives the same list. `today` is the date of the latest write.
    pub fn review(&self, today: Date) -> Vec<Issue> {
        match self.fields.to_registration(&self.nik) {
            Ok(reg) => reg.validate(today).errors,
            Err(missing) => {
                let names: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
                vec![Issue::new(
                    names.first().copied().unwrap_or("nik"),
                    "incomplete_registration",
                    format!(
                        "only part of a registration has arrived (missing: {}); the registering agent must sync, or register the person in full",
                        names.join(", ")
                    ),
                    &[("missing", names.join(", "))],
                )]
            }
        }
    }

    /// The latest write to any field.
    pub fn last_write(&self) -> Option<Hlc> {
        self.stamps.0.values().max().copied()
    }
}

/// Whether a write `(their_stamp, theirs)` beats `(our_stamp, ours)`.
/// Later stamp wins; equal stamps (which one device never issues twice)
/// fall back to comparing the values so the outcome is still symmetric.
fn wins<T: Serialize + PartialEq>(
    their_stamp: &Hlc,
    theirs: &T,
    our_stamp: &Hlc,
    ours: &T,
) -> bool {
    match their_stamp.cmp(our_stamp) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => {
            theirs != ours
                && serde_json::to_string(theirs).unwrap_or_default()
                    > serde_json::to_string(ours).unwrap_or_default()
        }
    }
}

/// Merges two records of the same person into a new one.
pub fn merge(a: &PersonRecord, b: &PersonRecord) -> PersonRecord {
    let mut out = a.clone();
    out.merge_from(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn nik() -> Nik {
        Nik::parse("3372011203850001").unwrap()
    }

    fn hlc(millis: u64, counter: u32, device: u128) -> Hlc {
        Hlc {
            millis,
            counter,
            device: Uuid::from_u128(device),
        }
    }

    #[test]
    fn later_write_wins_per_field() {
        let mut r = PersonRecord::new(nik());
        r.apply(
            &Fields {
                name: Some("Budi".into()),
                occupation: Some("ojek".into()),
                ..Default::default()
            },
            hlc(10, 0, 1),
        );
        r.apply(
            &Fields {
                name: Some("Budi S".into()),
                ..Default::default()
            },
            hlc(5, 0, 2),
        );
        r.apply(
            &Fields {
                occupation: Some("pedagang".into()),
                ..Default::default()
            },
            hlc(20, 0, 2),
        );
        assert_eq!(r.fields.name.as_deref(), Some("Budi"));
        assert_eq!(r.fields.occupation.as_deref(), Some("pedagang"));
    }

    #[test]
    fn device_id_breaks_a_millisecond_tie() {
        let a = PersonRecord::from_write(
            nik(),
            &Fields {
                name: Some("A".into()),
                ..Default::default()
            },
            hlc(10, 0, 1),
        );
        let b = PersonRecord::from_write(
            nik(),
            &Fields {
                name: Some("B".into()),
                ..Default::default()
            },
            hlc(10, 0, 2),
        );
        assert_eq!(merge(&a, &b).fields.name.as_deref(), Some("B"));
        assert_eq!(merge(&b, &a).fields.name.as_deref(), Some("B"));
    }

    #[test]
    fn a_void_is_a_write_that_a_later_edit_can_undo() {
        let mut r = PersonRecord::new(nik());
        r.apply(
            &Fields {
                status: Some(Status::Registered),
                kelurahan: Some(AreaCode::parse("33.72.01.1001").unwrap()),
                ..Default::default()
            },
            hlc(1, 0, 1),
        );
        r.apply(
            &Fields {
                status: Some(Status::Void),
                void_reason: Some("duplicate".into()),
                ..Default::default()
            },
            hlc(2, 0, 1),
        );
        assert!(!r.fields.is_live());
        r.apply(
            &Fields {
                status: Some(Status::Registered),
                ..Default::default()
            },
            hlc(3, 0, 2),
        );
        assert!(r.fields.is_live());
    }

    #[test]
    fn identity_disagreement_ignores_case_and_spacing() {
        let a = Fields {
            name: Some("Budi  Santoso".into()),
            sex: Some(Sex::L),
            ..Default::default()
        };
        let b = Fields {
            name: Some("BUDI SANTOSO".into()),
            sex: Some(Sex::L),
            ..Default::default()
        };
        let c = Fields {
            name: Some("Budi Susanto".into()),
            ..Default::default()
        };
        assert!(a.identity_disagreements(&b).is_empty());
        assert_eq!(a.identity_disagreements(&c), [Field::Name]);
    }

    #[test]
    fn stamps_serialise_grouped_by_timestamp_and_round_trip() {
        let mut r = PersonRecord::new(nik());
        r.apply(
            &Fields {
                name: Some("A".into()),
                sex: Some(Sex::L),
                ..Default::default()
            },
            hlc(5, 1, 2),
        );
        r.apply(
            &Fields {
                rt: Some(3),
                ..Default::default()
            },
            hlc(6, 0, 2),
        );
        let json = serde_json::to_value(&r.stamps).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 2, "{json}");
        assert_eq!(
            json[hlc(5, 1, 2).to_sortable()],
            serde_json::json!(["name", "sex"])
        );
        let back: PersonRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(serde_json::from_str::<Stamps>(r#"{"nonsense":["name"]}"#).is_err());
    }

    #[test]
    fn registration_round_trips_through_fields() {
        let reg = Registration {
            nik: nik(),
            name: "Budi Santoso".into(),
            birth_date: time::macros::date!(1985 - 03 - 12),
            sex: Sex::L,
            phone: None,
            kelurahan: AreaCode::parse("33.72.01.1001").unwrap(),
            rw: 3,
            rt: 5,
            category: Category::Pu,
            occupation: "buruh".into(),
            employer: Some("PT Sritex".into()),
            programs: crate::registration::parse_programs("jkk,jkm,jht").unwrap(),
            status: Status::Registered,
            void_reason: None,
        };
        let fields = Fields::from_registration(&reg);
        assert_eq!(fields.to_registration(&nik()).unwrap(), reg);
        let partial = Fields {
            name: Some("x".into()),
            ..Default::default()
        };
        assert!(fields.is_complete() && !partial.is_complete());
        let missing = partial.to_registration(&nik()).unwrap_err();
        assert!(missing.contains(&Field::BirthDate) && !missing.contains(&Field::Name));
    }

    fn arb_fields() -> impl Strategy<Value = Fields> {
        (
            proptest::option::of(prop_oneof!["Budi", "Siti", "Agus"].prop_map(String::from)),
            proptest::option::of(prop_oneof![Just(Sex::L), Just(Sex::P)]),
            proptest::option::of(prop_oneof!["ojek", "pedagang"].prop_map(String::from)),
            proptest::option::of(1u16..4),
            proptest::option::of(prop_oneof![Just(Status::Registered), Just(Status::Void)]),
        )
            .prop_map(|(name, sex, occupation, rt, status)| Fields {
                name,
                sex,
                occupation,
                rt,
                status,
                ..Default::default()
            })
    }

    fn arb_record() -> impl Strategy<Value = PersonRecord> {
        proptest::collection::vec((arb_fields(), 0u64..6, 0u32..3, 0u128..3), 0..5).prop_map(
            |writes| {
                let mut r = PersonRecord::new(nik());
                for (f, m, c, d) in writes {
                    r.apply(&f, hlc(m, c, d));
                }
                r
            },
        )
    }

    /// Stamps as they were first serialised: a map of groups.
    fn stamps_json_by_map(stamps: &Stamps) -> String {
        let mut grouped: BTreeMap<Hlc, Vec<Field>> = BTreeMap::new();
        for (field, hlc) in &stamps.0 {
            grouped.entry(*hlc).or_default().push(*field);
        }
        let map: Vec<(String, &Vec<Field>)> = grouped
            .iter()
            .map(|(hlc, fields)| (hlc.to_sortable(), fields))
            .collect();
        let mut out = String::from("{");
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k).unwrap());
            out.push(':');
            out.push_str(&serde_json::to_string(v).unwrap());
        }
        out.push('}');
        out
    }

    #[test]
    fn field_bits_are_fixed_and_each_field_has_one() {
        // Stored records depend on these: never renumber.
        let bits: Vec<(&str, u32)> = Field::ALL.iter().map(|f| (f.as_str(), f.bit())).collect();
        assert_eq!(
            bits,
            [
                ("name", 1),
                ("birth_date", 2),
                ("sex", 4),
                ("phone", 8),
                ("kelurahan", 16),
                ("rw", 32),
                ("rt", 64),
                ("category", 128),
                ("occupation", 256),
                ("employer", 512),
                ("programs", 1024),
                ("status", 2048),
                ("void_reason", 4096),
            ]
        );
        assert_eq!(
            Field::ALL.iter().fold(0, |m, f| m | f.bit()),
            Field::ALL_BITS
        );
    }

    #[test]
    fn every_field_has_its_place_in_all() {
        // A field left out of `Field::ALL` would get a bit that reading
        // refuses: every field the records know must be listed.
        let mut known = Vec::new();
        macro_rules! k {
            ($f:ident, $tag:ident) => {
                known.push(Field::$tag);
            };
        }
        for_each_field!(k);
        assert_eq!(known, Field::ALL);
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(f.bit(), 1 << i, "{f}");
            assert_eq!(Field::from_name(f.as_str()), Some(*f));
        }
    }

    #[test]
    fn a_stored_record_writes_each_group_as_a_mask_and_reads_back() {
        let mut r = PersonRecord::from_write(
            nik(),
            &Fields {
                name: Some("A".into()),
                sex: Some(Sex::L),
                rt: Some(2),
                ..Default::default()
            },
            hlc(5, 0, 1),
        );
        r.apply(
            &Fields {
                rt: Some(3),
                ..Default::default()
            },
            hlc(6, 0, 2),
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["stamps"],
            serde_json::json!({
                hlc(5, 0, 1).to_sortable(): Field::Name.bit() | Field::Sex.bit(),
                hlc(6, 0, 2).to_sortable(): Field::Rt.bit(),
            })
        );
        let back: PersonRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        // What people read names the fields, as before.
        assert_eq!(
            serde_json::to_value(&r.stamps).unwrap()[hlc(5, 0, 1).to_sortable()],
            serde_json::json!(["name", "sex"])
        );
    }

    #[test]
    fn a_mask_naming_no_field_is_refused() {
        let text = format!(
            r#"{{"{}": {}}}"#,
            hlc(5, 0, 1).to_sortable(),
            Field::ALL_BITS + 1
        );
        let err = serde_json::from_str::<Stamps>(&text).unwrap_err();
        assert!(err.to_string().contains("names no field"), "{err}");
        assert!(serde_json::from_str::<Stamps>(r#"{"x": 1}"#).is_err());
        let key = hlc(5, 0, 1).to_sortable();
        for value in [r#""name""#, "-1", "1.5", r#"["nama"]"#] {
            let text = format!(r#"{{"{key}": {value}}}"#);
            assert!(serde_json::from_str::<Stamps>(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_field_in_two_groups_keeps_the_later_stamp_in_either_order() {
        let (early, late) = (hlc(5, 0, 1), hlc(6, 0, 1));
        for (a, b) in [(early, late), (late, early)] {
            let text = format!(
                r#"{{"{}": ["name"], "{}": {}}}"#,
                a.to_sortable(),
                b.to_sortable(),
                Field::Name.bit()
            );
            let stamps: Stamps = serde_json::from_str(&text).unwrap();
            assert_eq!(stamps.0.get(&Field::Name), Some(&late), "{text}");
        }
    }

    proptest! {
        #[test]
        fn a_record_reads_back_from_its_stored_form_and_from_names(r in arb_record()) {
            let stored = serde_json::to_string(&r).unwrap();
            prop_assert_eq!(serde_json::from_str::<PersonRecord>(&stored).unwrap(), r.clone());
            let names = serde_json::json!({
                "nik": r.nik,
                "fields": r.fields,
                "stamps": serde_json::to_value(&r.stamps).unwrap(),
            });
            prop_assert_eq!(serde_json::from_value::<PersonRecord>(names).unwrap(), r.clone());
            prop_assert_eq!(
                serde_json::to_string(&r.stamps.stored()).unwrap(),
                serde_json::to_value(&r).unwrap()["stamps"].to_string()
            );
        }

        #[test]
        fn stamps_serialise_byte_for_byte_as_the_map_of_groups_did(r in arb_record()) {
            prop_assert_eq!(serde_json::to_string(&r.stamps).unwrap(), stamps_json_by_map(&r.stamps));
        }

        #[test]
        fn applying_a_write_is_merging_the_record_it_makes(
            r in arb_record(),
            f in arb_fields(),
            m in 0u64..6,
            c in 0u32..3,
            d in 0u128..3,
        ) {
            let stamp = hlc(m, c, d);
            let mut applied = r.clone();
            let changed = applied.apply(&f, stamp);
            let mut merged = r.clone();
            let merged_changed = merged.merge_from(&PersonRecord::from_write(nik(), &f, stamp));
            prop_assert_eq!(applied, merged);
            prop_assert_eq!(changed, merged_changed);
        }

        #[test]
        fn merge_is_commutative(a in arb_record(), b in arb_record()) {
            prop_assert_eq!(merge(&a, &b), merge(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in arb_record(), b in arb_record(), c in arb_record()) {
            prop_assert_eq!(merge(&merge(&a, &b), &c), merge(&a, &merge(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in arb_record(), b in arb_record()) {
            prop_assert_eq!(merge(&a, &a), a.clone());
            let ab = merge(&a, &b);
            prop_assert_eq!(merge(&ab, &b), ab);
        }

        #[test]
        fn any_order_of_the_same_changes_gives_the_same_record(
            changes in proptest::collection::vec((arb_fields(), 0u64..6, 0u32..3, 0u128..3), 1..12),
            seed in any::<u64>(),
        ) {
            let mut forward = PersonRecord::new(nik());
            for (f, m, c, d) in &changes {
                forward.apply(f, hlc(*m, *c, *d));
            }
            // A deterministic shuffle plus every change applied twice.
            let mut shuffled: Vec<_> = changes.iter().chain(changes.iter()).collect();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut other = PersonRecord::new(nik());
            for (f, m, c, d) in shuffled {
                other.apply(f, hlc(*m, *c, *d));
            }
            prop_assert_eq!(forward, other);
        }
    }
}
