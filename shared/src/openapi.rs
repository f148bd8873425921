//! OpenAPI schemas for the types serde writes by hand (feature `openapi`).
//!
//! The derived schemas of the other wire types refer to these by name. A
//! NIK, an area code and a percentage travel as strings with a grammar of
//! their own, and a push result is written flat (see [`ChangeResult`]), so
//! a derived schema would describe the Rust type, not what is on the wire.

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::area::AreaCode;
use crate::coverage::Percent;
use crate::merge::Field;
use crate::nik::Nik;
use crate::wire::ChangeResult;

/// A NIK as sent: 16 digits. The grammar rules out a zero province,
/// regency, district or serial and a month or day out of range; what a
/// pattern cannot say (the 31st of February, a province that does not
/// exist) the server refuses with `invalid_nik_*`.
pub const NIK_PATTERN: &str = "^[1-9][0-9](0[1-9]|[1-9][0-9]){2}(0[1-9]|[1-2][0-9]|3[01]|4[1-9]|[5-6][0-9]|7[01])(0[1-9]|1[0-2])[0-9]{2}([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)$";

/// An area code at any level, as the server writes it: province `33`,
/// kota `33.72`, kecamatan `33.72.01`, kelurahan `33.72.01.1001`, then RW
/// and RT after slashes (`33.72.01.1001/3/5`).
pub const AREA_PATTERN: &str =
    r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4}(/[0-9]{1,4}(/[0-9]{1,4})?)?)?)?)?$";

/// A percentage with two decimals, as the server writes it (`57.02`).
pub const PERCENT_PATTERN: &str = r"^[0-9]{1,3}\.[0-9]{2}$";

fn string(description: &str, pattern: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .examples([serde_json::Value::from(example)])
        .into()
}

impl PartialSchema for Nik {
    fn schema() -> RefOr<Schema> {
        string(
            "NIK (Nomor Induk Kependudukan): 16 digits, province, regency, \
             kecamatan, birth date DDMMYY (day + 40 for women) and serial. \
             Personal data: only a supervisor of the person's area sees it.",
            NIK_PATTERN,
            "3372011203850001",
        )
    }
}

impl ToSchema for Nik {}

impl PartialSchema for AreaCode {
    fn schema() -> RefOr<Schema> {
        string(
            "Kemendagri area code: kota `33.72`, kecamatan `33.72.01`, \
             kelurahan `33.72.01.1001`, RW and RT after slashes \
             (`33.72.01.1001/3/5`).",
            AREA_PATTERN,
            "33.72.01.1001",
        )
    }
}

impl ToSchema for AreaCode {}

impl PartialSchema for Percent {
    fn schema() -> RefOr<Schema> {
        string(
            "A percentage with two decimals, 0.00 to 100.00.",
            PERCENT_PATTERN,
            "57.02",
        )
    }
}

impl ToSchema for Percent {}

/// The flat object `FlatResult` writes: `outcome` names what happened,
/// `code` and `reason` come with `rejected`, `fields` and `by` with
/// `superseded`.
impl PartialSchema for ChangeResult {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .description(Some("What the server did with one change of the push."))
            .property(
                "id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            )
            .required("id")
            .property(
                "device_seq",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0)),
            )
            .required("device_seq")
            .property(
                "outcome",
                text(
                    "applied: made or updated the person; duplicate: already \
                     held; merged: applied to a person another source had \
                     registered; superseded: held, but later writes keep \
                     `fields` (written by `by`); pending: earlier numbers of \
                     the device are missing, send it again after them; \
                     rejected: refused for good, see `code` and `reason`.",
                )
                .enum_values(Some([
                    "applied",
                    "duplicate",
                    "merged",
                    "superseded",
                    "pending",
                    "rejected",
                ])),
            )
            .required("outcome")
            .property("code", text("Stable code of a rejection."))
            .property("reason", text("How to fix a rejected change."))
            .property("fields", ArrayBuilder::new().items(Field::schema_ref()))
            .property(
                "by",
                ArrayBuilder::new().items(text("Who wrote what the server keeps.")),
            )
            .into()
    }
}

impl ToSchema for ChangeResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Field::name().into_owned(), Field::schema()));
    }
}

trait SchemaRef {
    fn schema_ref() -> RefOr<Schema>;
}

impl<T: ToSchema> SchemaRef for T {
    fn schema_ref() -> RefOr<Schema> {
        let name: Cow<'static, str> = T::name();
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Outcome;
    use uuid::Uuid;

    fn schema_json<T: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    #[test]
    fn the_result_schema_names_every_key_and_outcome_the_wire_carries() {
        let schema = schema_json::<ChangeResult>();
        let properties = schema["properties"].as_object().unwrap();
        let outcomes = schema["properties"]["outcome"]["enum"].as_array().unwrap();
        for outcome in [
            Outcome::Applied,
            Outcome::Duplicate,
            Outcome::Merged,
            Outcome::Pending,
            Outcome::Superseded {
                fields: vec![Field::Name],
                by: vec!["supervisor sari".into()],
            },
            Outcome::Rejected {
                code: "invalid_nik".into(),
                reason: "r".into(),
            },
        ] {
            let written = serde_json::to_value(ChangeResult {
                id: Uuid::nil(),
                device_seq: 1,
                outcome,
            })
            .unwrap();
            for key in written.as_object().unwrap().keys() {
                assert!(properties.contains_key(key), "{key} in {written}");
            }
            assert!(outcomes.contains(&written["outcome"]), "{written}");
        }
        assert_eq!(
            schema["required"],
            serde_json::json!(["id", "device_seq", "outcome"])
        );
    }

    #[test]
    fn string_types_carry_an_example_their_parser_accepts() {
        let example = |v: serde_json::Value| v["examples"][0].as_str().unwrap().to_string();
        assert!(Nik::parse(&example(schema_json::<Nik>())).is_ok());
        assert!(AreaCode::parse(&example(schema_json::<AreaCode>())).is_ok());
        assert!(Percent::parse(&example(schema_json::<Percent>())).is_ok());
        assert_eq!(schema_json::<Nik>()["pattern"], NIK_PATTERN);
    }
}
