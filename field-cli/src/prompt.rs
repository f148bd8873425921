//! Asking for a registration field by field on a terminal. Each field is
//! asked again until it is valid; the rules are the shared ones.

use std::fmt;

use dialoguer::theme::Theme;
use dialoguer::{Confirm, Input, Select};
use rusqlite::OptionalExtension;
use sigap_shared::registration::{format_programs, validate_phone};
use sigap_shared::wilayah::{Candidate, PlaceError};
use sigap_shared::{AreaCode, Category, Fields, Nik, Registration, Sex, wilayah};

use crate::error::CliError;
use crate::fields::{self, RawFields, Typed, today};
use crate::i18n::problems::{Problem, Worded};
use crate::i18n::{self, t};
use crate::store::{Store, records, replica};

/// What the agent decided.
pub enum Decision {
    Register(Registration),
    /// The NIK is already registered here: change these fields instead.
    Edit(Nik, Fields),
    Cancel,
}

/// dialoguer's plain look, with its own words (the error prefix, the
/// yes/no of a confirmation) in the agent's language.
struct Words;

impl Theme for Words {
    fn format_error(&self, f: &mut dyn fmt::Write, err: &str) -> fmt::Result {
        f.write_str(&t!("error-line", message = err))
    }

    fn format_confirm_prompt(
        &self,
        f: &mut dyn fmt::Write,
        prompt: &str,
        default: Option<bool>,
    ) -> fmt::Result {
        if !prompt.is_empty() {
            write!(f, "{prompt} ")?;
        }
        // The keys stay y and n: dialoguer reads those.
        let keys = match default {
            None => t!("prompt-yes-no"),
            Some(true) => t!("prompt-yes-no-default-yes"),
            Some(false) => t!("prompt-yes-no-default-no"),
        };
        write!(f, "{keys} ")
    }

    fn format_confirm_prompt_selection(
        &self,
        f: &mut dyn fmt::Write,
        prompt: &str,
        selection: Option<bool>,
    ) -> fmt::Result {
        let answer = selection.map(|b| if b { t!("prompt-yes") } else { t!("prompt-no") });
        match (prompt.is_empty(), answer) {
            (true, Some(a)) => f.write_str(&a),
            (false, Some(a)) => write!(f, "{prompt} {a}"),
            (_, None) => f.write_str(prompt),
        }
    }
}

fn ask(
    prompt: &str,
    default: Option<String>,
    check: impl Fn(&str) -> Result<(), String>,
) -> anyhow::Result<String> {
    let mut input = Input::<String>::with_theme(&Words).with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d);
    }
    Ok(input
        .validate_with(move |s: &String| check(s))
        .interact_text()?
        .trim()
        .to_string())
}

fn ask_optional(
    prompt: &str,
    default: Option<String>,
    check: impl Fn(&str) -> Result<(), String>,
) -> anyhow::Result<String> {
    let mut input = Input::<String>::with_theme(&Words)
        .with_prompt(prompt)
        .allow_empty(true);
    if let Some(d) = default {
        input = input.default(d);
    }
    Ok(input
        .validate_with(move |s: &String| {
            if s.trim().is_empty() {
                Ok(())
            } else {
                check(s)
            }
        })
        .interact_text()?
        .trim()
        .to_string())
}

fn not_empty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err(t!("prompt-required"))
    } else {
        Ok(())
    }
}

/// The last address registered here, to offer as the default (door to door).
fn last_address(store: &Store) -> Option<(String, i64, i64)> {
    store
        .conn
        .query_row(
            "SELECT kelurahan, rw, rt FROM records WHERE kelurahan IS NOT NULL ORDER BY updated_at DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .ok()
        .flatten()
}

pub fn register(store: &Store, raw: &mut RawFields, force: bool) -> anyhow::Result<Decision> {
    let ask_nik = || -> anyhow::Result<Nik> {
        let text = ask(&t!("prompt-nik"), None, |s| {
            fields::parse_nik(s).map(|_| ()).map_err(|p| p.local())
        })?;
        Ok(fields::parse_nik(&text).map_err(|p| CliError::Input(p.local()))?)
    };
    let nik = match raw.nik.as_deref().map(fields::parse_nik) {
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("{}", e.local());
            ask_nik()?
        }
        None => ask_nik()?,
    };
    if let Some(rec) = records::get(&store.conn, &nik)? {
        eprintln!(
            "{}",
            t!(
                "prompt-already-here",
                nik = nik,
                name = rec.fields().name.clone().unwrap_or_default(),
                state = crate::output::state_text(rec.sync_state())
            )
        );
        if Confirm::with_theme(&Words)
            .with_prompt(t!("prompt-edit-instead"))
            .default(true)
            .interact()?
        {
            return ask_edit(&nik, rec.fields());
        }
        return Ok(Decision::Cancel);
    }
    let known = replica::get(&store.conn, &nik)?;
    if let Some(p) = known.as_ref().filter(|p| !replica::blocks_registration(p)) {
        eprintln!(
            "{}",
            t!(
                "prompt-may-register-again",
                nik = nik,
                known = replica::describe(p)
            )
        );
    }
    if !force && let Some(p) = known.filter(replica::blocks_registration) {
        eprintln!(
            "{}",
            t!("prompt-known", nik = nik, known = replica::describe(&p))
        );
        if !Confirm::with_theme(&Words)
            .with_prompt(t!("prompt-register-anyway"))
            .default(false)
            .interact()?
        {
            return Ok(Decision::Cancel);
        }
    }
    raw.nik = Some(nik.to_string());
    let mut first = true;
    loop {
        fill(store, raw, &nik, first)?;
        first = false;
        let issues = match raw.to_registration() {
            Err(issues) => issues,
            Ok((reg, _)) => {
                let v = reg.validate(today());
                if v.is_ok() {
                    return Ok(Decision::Register(reg));
                }
                v.errors
            }
        };
        for i in &issues {
            eprintln!("  {}", i18n::issues::line(i18n::lang(), i));
            if !clear(raw, &i.field) {
                return Err(CliError::Invalid {
                    what: t!("what-registration"),
                    issues,
                }
                .into());
            }
        }
    }
}

fn clear(raw: &mut RawFields, field: &str) -> bool {
    let slot = match field {
        "name" => &mut raw.name,
        "birth_date" => &mut raw.birth_date,
        "sex" => &mut raw.sex,
        "kelurahan" => &mut raw.kelurahan,
        "rw" => &mut raw.rw,
        "rt" => &mut raw.rt,
        "category" => &mut raw.category,
        "occupation" => &mut raw.occupation,
        "employer" => &mut raw.employer,
        "phone" => &mut raw.phone,
        "programs" => &mut raw.programs,
        _ => return false,
    };
    *slot = None;
    true
}

fn fill(store: &Store, raw: &mut RawFields, nik: &Nik, first: bool) -> anyhow::Result<()> {
    let last = last_address(store);
    if raw.name.is_none() {
        raw.name = Some(ask(&t!("prompt-name"), None, not_empty)?);
    }
    if raw.birth_date.is_none() {
        let n = nik.clone();
        let check = move |s: &str| {
            let d = fields::parse_birth_date(s).map_err(|p| p.local())?;
            if n.matches_birth_date(d) {
                Ok(())
            } else {
                Err(t!(
                    "prompt-nik-encodes",
                    nik_birth_date = i18n::lang().date(n.birth_date())
                ))
            }
        };
        raw.birth_date = Some(ask(
            &t!("prompt-birth-date"),
            Some(nik.birth_date().to_string()),
            check,
        )?);
    }
    if raw.sex.is_none() {
        let default = if nik.sex() == Sex::P { 1 } else { 0 };
        let i = Select::with_theme(&Words)
            .with_prompt(t!("prompt-sex"))
            .items(["L (laki-laki)", "P (perempuan)"])
            .default(default)
            .interact()?;
        raw.sex = Some(if i == 1 { "P" } else { "L" }.into());
    }
    if raw.kelurahan.is_none() {
        let code = ask_kelurahan(last.as_ref().map(|l| l.0.clone()))?;
        match wilayah::area_name(&code) {
            Some(_) => eprintln!(
                "  {}",
                t!(
                    "prompt-kelurahan-chosen",
                    label = wilayah::area_label(&code)
                )
            ),
            None => eprintln!("  {}", t!("prompt-kelurahan-unknown", code = code)),
        }
        raw.kelurahan = Some(code.to_string());
    }
    if raw.rw.is_none() {
        raw.rw = Some(ask("RW", last.as_ref().map(|l| l.1.to_string()), |s| {
            fields::parse_number("RW", s)
                .map(|_| ())
                .map_err(|p| p.local())
        })?);
    }
    if raw.rt.is_none() {
        raw.rt = Some(ask("RT", last.as_ref().map(|l| l.2.to_string()), |s| {
            fields::parse_number("RT", s)
                .map(|_| ())
                .map_err(|p| p.local())
        })?);
    }
    if raw.category.is_none() {
        let items: Vec<String> = Category::ALL
            .iter()
            .map(|c| format!("{:<6} {}", c.as_str(), category_text(*c)))
            .collect();
        let i = Select::with_theme(&Words)
            .with_prompt(t!("prompt-category"))
            .items(&items)
            .default(1)
            .interact()?;
        raw.category = Some(
            Category::ALL
                .get(i)
                .copied()
                .unwrap_or(Category::Bpu)
                .as_str()
                .into(),
        );
    }
    let category = raw
        .category
        .as_deref()
        .and_then(|c| fields::parse_category(c).ok());
    if raw.occupation.is_none() {
        raw.occupation = Some(ask(&t!("prompt-occupation"), None, not_empty)?);
    }
    if raw.employer.is_none() {
        if category.is_some_and(Category::requires_employer) {
            raw.employer = Some(ask(&t!("prompt-employer-required"), None, not_empty)?);
        } else if first {
            let e = ask_optional(&t!("prompt-employer-optional"), None, |_| Ok(()))?;
            raw.employer = (!e.is_empty()).then_some(e);
        }
    }
    if raw.phone.is_none() && first {
        let p = ask_optional(&t!("prompt-phone-optional"), None, check_phone)?;
        raw.phone = (!p.is_empty()).then_some(p);
    }
    if raw.programs.is_none() {
        let cat = category.unwrap_or(Category::Bpu);
        let default = format_programs(&cat.required_programs().iter().copied().collect());
        let allowed = cat.allowed_programs();
        raw.programs = Some(ask(
            &t!(
                "prompt-programs",
                allowed = allowed
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Some(default),
            move |s| {
                let set = fields::parse_programs(s).map_err(|p| p.local())?;
                match set.iter().find(|p| !allowed.contains(p)) {
                    Some(p) => Err(t!(
                        "prompt-program-not-allowed",
                        program = p,
                        category = cat
                    )),
                    None => Ok(()),
                }
            },
        )?);
    }
    Ok(())
}

/// A phone number as the prompt checks it.
fn check_phone(s: &str) -> Result<(), String> {
    validate_phone(s)
        .map(|_| ())
        .map_err(|_| Problem::new("invalid_phone", &[("phone", s.trim().to_string())]).local())
}

/// A category's description in the agent's language.
fn category_text(c: Category) -> String {
    match c {
        Category::Pu => t!("category-pu"),
        Category::Bpu => t!("category-bpu"),
        Category::Jakon => t!("category-jakon"),
        Category::Pmi => t!("category-pmi"),
    }
}

/// Asks for a kelurahan by name or code. A name that matches several is
/// not refused: the agent picks from the numbered matches instead of
/// having to guess more letters.
fn ask_kelurahan(default: Option<String>) -> anyhow::Result<AreaCode> {
    let text = ask(
        &t!("prompt-kelurahan"),
        default,
        |s| match wilayah::find_kelurahan(s) {
            Ok(_) | Err(PlaceError::Ambiguous { .. }) => Ok(()),
            Err(e) => Err(Problem::place(&e).local()),
        },
    )?;
    let candidates = match wilayah::find_kelurahan(&text) {
        Ok(code) => return Ok(code),
        Err(PlaceError::Ambiguous { candidates, .. }) => candidates,
        Err(e) => return Err(CliError::Input(Problem::place(&e).local()).into()),
    };
    eprintln!(
        "  {}",
        t!(
            "prompt-kelurahan-matches",
            count = i18n::n(candidates.len() as u64),
            text = text
        )
    );
    for (i, c) in candidates.iter().enumerate() {
        eprintln!("  {:>3}. {c}", i + 1);
    }
    let choice = ask(&t!("prompt-pick", count = candidates.len()), None, |s| {
        pick(s, &candidates).map(|_| ())
    })?;
    Ok(pick(&choice, &candidates).map_err(CliError::Input)?)
}

/// A choice from a numbered list of kelurahan: its number, or a code or
/// name as at the first question.
fn pick(text: &str, candidates: &[Candidate]) -> Result<AreaCode, String> {
    let t = text.trim();
    if !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| candidates.get(i))
            .map(|c| c.code)
            .ok_or_else(|| t!("prompt-pick-number", count = candidates.len()));
    }
    wilayah::find_kelurahan(t).map_err(|e| Problem::place(&e).local())
}

/// Asks each changeable field with the current value as default; returns
/// the fields the agent changed.
fn ask_edit(nik: &Nik, cur: &Fields) -> anyhow::Result<Decision> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = Fields::default();
    let name = ask(&t!("prompt-edit-name"), Some(text(&cur.name)), not_empty)?;
    if Some(&name) != cur.name.as_ref() {
        out.name = Some(name);
    }
    let occupation = ask(
        &t!("prompt-edit-occupation"),
        Some(text(&cur.occupation)),
        not_empty,
    )?;
    if Some(&occupation) != cur.occupation.as_ref() {
        out.occupation = Some(occupation);
    }
    let employer = ask_optional(
        &t!("prompt-edit-employer"),
        cur.employer.clone().filter(|e| !e.is_empty()),
        |_| Ok(()),
    )?;
    if employer != text(&cur.employer) {
        out.employer = Some(employer);
    }
    let phone = ask_optional(
        &t!("prompt-edit-phone"),
        cur.phone.clone().filter(|e| !e.is_empty()),
        check_phone,
    )?;
    if phone != text(&cur.phone) {
        out.phone = Some(phone);
    }
    let programs = ask(
        &t!("prompt-edit-programs"),
        cur.programs.as_ref().map(format_programs),
        |s| fields::parse_programs(s).map(|_| ()).map_err(|p| p.local()),
    )?;
    let programs = fields::parse_programs(&programs).map_err(|p| CliError::Input(p.local()))?;
    if Some(&programs) != cur.programs.as_ref() {
        out.programs = Some(programs);
    }
    if out.written().is_empty() {
        eprintln!("{}", t!("prompt-nothing-changed", nik = nik));
        return Ok(Decision::Cancel);
    }
    Ok(Decision::Edit(nik.clone(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kelurahan_is_picked_by_number_code_or_name() {
        let Err(PlaceError::Ambiguous { candidates, .. }) = wilayah::find_kelurahan("kepatihan")
        else {
            panic!("kepatihan should match both Kepatihan");
        };
        let wetan = AreaCode::parse("33.72.04.1002").unwrap();
        assert_eq!(pick("2", &candidates), Ok(wetan));
        assert_eq!(pick(" 33.72.04.1002 ", &candidates), Ok(wetan));
        assert_eq!(pick("wetan", &candidates), Ok(wetan));
        assert_eq!(
            pick("3", &candidates),
            Err(i18n::text(
                i18n::lang(),
                "prompt-pick-number",
                &[("count", "2".into())]
            ))
        );
        assert!(pick("0", &candidates).is_err());
    }
}
