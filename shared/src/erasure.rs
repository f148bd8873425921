//! Erasure of a person's personal data at an admin's request (the PDP
//! law, UU 27/2022): which fields hold personal data and what each reads
//! once erased. The server overwrites them in its copy
//! (`POST /api/v1/persons/{nik}/erase`) and says so in the feed
//! ([`crate::wire::PersonState::erased_at`]); a laptop that registered
//! the person overwrites its own copy with the same values.
//!
//! What the coverage count needs stays: the NIK, the address down to RT,
//! the category, the status, the birth date and sex (the NIK holds them
//! anyway), the programmes.

use crate::merge::{Field, Fields};

/// What an erased text field reads afterwards. Not empty: name and
/// occupation are required, and a record that lost them would stop
/// counting as covered.
pub const ERASED: &str = "[dihapus]";

/// The fields that hold personal data, and what each becomes.
pub const PERSONAL: [(Field, &str); 5] = [
    (Field::Name, ERASED),
    (Field::Phone, ""),
    (Field::Occupation, ERASED),
    (Field::Employer, ERASED),
    (Field::VoidReason, ERASED),
];

/// What `field` reads once erased; `None` for a field that holds no
/// personal data (it is kept).
pub fn erased_value(field: Field) -> Option<&'static str> {
    PERSONAL.iter().find(|(f, _)| *f == field).map(|(_, v)| *v)
}

/// The slot of a personal field in `fields`.
fn slot(fields: &mut Fields, field: Field) -> Option<&mut Option<String>> {
    match field {
        Field::Name => Some(&mut fields.name),
        Field::Phone => Some(&mut fields.phone),
        Field::Occupation => Some(&mut fields.occupation),
        Field::Employer => Some(&mut fields.employer),
        Field::VoidReason => Some(&mut fields.void_reason),
        _ => None,
    }
}

/// The value of a personal field in `fields`.
fn get(fields: &Fields, field: Field) -> Option<&str> {
    match field {
        Field::Name => fields.name.as_deref(),
        Field::Phone => fields.phone.as_deref(),
        Field::Occupation => fields.occupation.as_deref(),
        Field::Employer => fields.employer.as_deref(),
        Field::VoidReason => fields.void_reason.as_deref(),
        _ => None,
    }
}

/// Whether `value` of a personal field still holds something to erase
/// (not empty, not already the erased value).
fn holds(value: &str, erased: &str) -> bool {
    !value.is_empty() && value != erased
}

/// Overwrites with its erased value each personal field of `fields` that
/// holds something and that `choose` picks (fields not written, empty or
/// already erased are left as they are); whether any was.
pub fn erase_personal(fields: &mut Fields, mut choose: impl FnMut(Field) -> bool) -> bool {
    let mut changed = false;
    for (field, erased) in PERSONAL {
        let Some(Some(value)) = slot(fields, field) else {
            continue;
        };
        if holds(value, erased) && choose(field) {
            *value = erased.to_string();
            changed = true;
        }
    }
    changed
}

/// The write that erases what `current` holds of each personal field
/// (fields it does not hold, it leaves unwritten): what the server
/// applies to the merged record.
pub fn erasure_of(current: &Fields) -> Fields {
    let mut write = Fields::default();
    for (field, erased) in PERSONAL {
        let held = get(current, field).is_some_and(|t| !t.trim().is_empty());
        if held && let Some(s) = slot(&mut write, field) {
            *s = Some(erased.to_string());
        }
    }
    write
}

/// The personal fields of `fields` that read [`ERASED`]: the marks an
/// erasure leaves (an empty phone is no mark: anyone may clear a phone).
pub fn erased_marks(fields: &Fields) -> impl Iterator<Item = Field> + '_ {
    PERSONAL
        .into_iter()
        .filter(|(_, erased)| *erased == ERASED)
        .map(|(f, _)| f)
        .filter(|f| get(fields, *f) == Some(ERASED))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn full() -> Fields {
        Fields {
            name: Some("Siti Rahayu".into()),
            phone: Some("081234567890".into()),
            occupation: Some("pedagang".into()),
            employer: Some(String::new()),
            void_reason: None,
            rw: Some(3),
            ..Fields::default()
        }
    }

    #[test]
    fn personal_fields_held_are_overwritten_and_the_rest_kept() {
        let mut f = full();
        assert!(erase_personal(&mut f, |_| true));
        assert_eq!(f.name.as_deref(), Some(ERASED));
        assert_eq!(f.phone.as_deref(), Some(""));
        assert_eq!(f.occupation.as_deref(), Some(ERASED));
        assert_eq!(f.employer.as_deref(), Some(""), "empty stays empty");
        assert_eq!(f.void_reason, None, "not written stays unwritten");
        assert_eq!(f.rw, Some(3));
        assert!(!erase_personal(&mut f, |_| true), "nothing left");
    }

    #[test]
    fn only_the_chosen_fields_are_erased() {
        let mut f = full();
        assert!(erase_personal(&mut f, |field| field != Field::Phone));
        assert_eq!(f.phone.as_deref(), Some("081234567890"));
        assert_eq!(f.name.as_deref(), Some(ERASED));
        let mut g = full();
        assert!(!erase_personal(&mut g, |_| false));
        assert_eq!(g, full());
    }

    #[test]
    fn the_server_writes_only_what_the_record_holds() {
        let w = erasure_of(&full());
        assert_eq!(
            w,
            Fields {
                name: Some(ERASED.into()),
                phone: Some(String::new()),
                occupation: Some(ERASED.into()),
                ..Fields::default()
            }
        );
        assert_eq!(
            erased_marks(&w).collect::<Vec<_>>(),
            vec![Field::Name, Field::Occupation]
        );
        assert_eq!(erased_marks(&full()).count(), 0);
        assert_eq!(erased_value(Field::Rt), None);
    }
}
