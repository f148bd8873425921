//! Findings and refusals in the agent's language. A validation issue
//! carries a stable code and its values (`Issue::args`); the catalogue
//! words it as `issue-<code>`. The server's refusals carry a code and an
//! English reason only: a known code is worded as `reject-<code>`, an
//! unknown one keeps the server's reason.

use sigap_shared::{Issue, Lang};

/// The issue's message in `lang`: from the catalogue when it knows the
/// code and the issue carries the values the message needs, else the
/// issue's own (English) message.
pub fn message(lang: Lang, issue: &Issue) -> String {
    let args: Vec<(&str, String)> = issue
        .args
        .iter()
        .map(|(k, v)| (k.as_str(), shown(lang, k, v)))
        .collect();
    super::try_text(lang, &format!("issue-{}", issue.code), &args)
        .unwrap_or_else(|| issue.message.clone())
}

/// An argument as the message shows it: dates (`birth_date`, `on_date`,
/// carried as `YYYY-MM-DD`) as people write them in `lang`.
fn shown(lang: Lang, key: &str, value: &str) -> String {
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    match key.ends_with("date").then(|| time::Date::parse(value, iso)) {
        Some(Ok(d)) => lang.date(d),
        _ => value.to_string(),
    }
}

/// `field: message`, as lists of issues show each.
pub fn line(lang: Lang, issue: &Issue) -> String {
    format!("{}: {}", issue.field, message(lang, issue))
}

/// A refusal of the server as the agent reads it. In English the server's
/// own reason is kept: it names the specifics (the area, the stamp).
pub fn rejection(lang: Lang, code: &str, reason: &str) -> String {
    if lang == Lang::En && !reason.trim().is_empty() {
        return reason.to_string();
    }
    super::try_text(lang, &format!("reject-{code}"), &[]).unwrap_or_else(|| reason.to_string())
}
