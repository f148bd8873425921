//! The catalogues compiled in: the `.ftl` files of `locales/<lang>/`, one
//! Fluent bundle per language, parsed at its first message.
//!
//! Why not fluent-templates' `static_loader!`: it parses every file of
//! every language at the first message, which measured as half the
//! instructions of a `sigap lookup` (1.8 of 3.7 million; callgrind,
//! release build). Only the agent's language is parsed here, and the help
//! texts (`help.ftl`, a quarter of the catalogue) only when help is shown.
//! `tests.rs` checks that every file of the folders is listed below.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use sigap_shared::Lang;
use unic_langid::LanguageIdentifier;

type Bundle = FluentBundle<FluentResource>;

macro_rules! files {
    ($lang:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../../locales/", $lang, "/", $file)))),+]
    };
}

/// Messages, by topic.
pub const ID: &[(&str, &str)] = files!("id": "common.ftl", "errors.ftl", "import.ftl",
    "issues.ftl", "prompt.ftl", "register.ftl", "status.ftl", "sync.ftl");
pub const EN: &[(&str, &str)] = files!("en": "common.ftl", "errors.ftl", "import.ftl",
    "issues.ftl", "prompt.ftl", "register.ftl", "status.ftl", "sync.ftl");
/// The texts of `--help` and `sigap man` (ids `help-…`).
pub const ID_HELP: &[(&str, &str)] = files!("id": "help.ftl");
pub const EN_HELP: &[(&str, &str)] = files!("en": "help.ftl");

fn bundle(lang: Lang, files: &[(&str, &'static str)]) -> Bundle {
    let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Fluent wraps every argument in Unicode isolation marks, which a
    // terminal shows as nothing but which break copying a NIK out of a
    // message and every test that looks for one.
    b.set_use_isolating(false);
    for (_, text) in files {
        // A file with a syntax error keeps the messages that parse; the
        // catalogue tests fail on the error itself.
        let resource = FluentResource::try_new((*text).to_string()).unwrap_or_else(|(r, _)| r);
        // An id twice is kept once; the catalogue tests fail on it.
        let _ = b.add_resource(resource);
    }
    b
}

static BUNDLES: [LazyLock<Bundle>; 4] = [
    LazyLock::new(|| bundle(Lang::Id, ID)),
    LazyLock::new(|| bundle(Lang::En, EN)),
    LazyLock::new(|| bundle(Lang::Id, ID_HELP)),
    LazyLock::new(|| bundle(Lang::En, EN_HELP)),
];

/// The message `id` in `lang`, formatted with `args`; `None` when there is
/// no such message or the arguments do not fill it.
pub fn format(lang: Lang, id: &str, args: &[(&str, String)]) -> Option<String> {
    let help = usize::from(id.starts_with("help-")) * 2;
    let bundle = &*BUNDLES[help + usize::from(lang == Lang::En)];
    let pattern = bundle.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, FluentValue::from(v.clone()));
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}
