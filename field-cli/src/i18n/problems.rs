//! What is wrong with a value the agent typed, as a stable code and the
//! values its message names, for the shared parsers' errors (NIK, area
//! codes, place names, the fixed words) and the CLI's own checks. The
//! codes come from `sigap_shared::import_row::Problem` (also the CSV
//! import's row checks); each has an `issue-<code>` message in every
//! catalogue, and [`Worded`] words it.

use sigap_shared::import_row::FieldProblem;
pub use sigap_shared::import_row::Problem;
use sigap_shared::{Issue, Lang};

/// A problem worded from the catalogues.
pub trait Worded {
    /// The problem worded in `lang`.
    fn text(&self, lang: Lang) -> String;

    /// The problem in this process's language.
    fn local(&self) -> String {
        self.text(super::lang())
    }

    /// The problem as an issue of `field`; its `message` is the English
    /// wording, as scripts and the JSON output read it.
    fn issue_of(&self, field: &str) -> Issue;
}

impl Worded for Problem {
    fn text(&self, lang: Lang) -> String {
        super::issues::message(lang, &bare_issue(self, ""))
    }

    fn issue_of(&self, field: &str) -> Issue {
        let mut i = bare_issue(self, field);
        i.message = super::issues::message(Lang::En, &i);
        i
    }
}

fn bare_issue(p: &Problem, field: &str) -> Issue {
    Issue::new(field, p.code, String::new(), &p.args)
}

/// The problems of a row's fields as issues (English messages).
pub fn issues(problems: &[FieldProblem]) -> Vec<Issue> {
    problems
        .iter()
        .map(|p| p.problem.issue_of(&p.field))
        .collect()
}
