//! The catalogues compiled in: the `.ftl` files of `locales/<lang>/`, each
//! parsed at the first message it holds.
//!
//! Why not fluent-templates' `static_loader!`: it parses every file of
//! every language at the first message, which measured as half the
//! instructions of a `sigap lookup` (1.8 of 3.7 million; callgrind,
//! release build), where a command needs one language and two or three
//! topics. Here a message's file is found by a plain text search (no
//! parsing) and only that file is parsed, into a bundle of its own:
//! messages never refer to one another, so a bundle per file loses
//! nothing. `tests.rs` checks that every file of the folders is listed
//! below.

use std::sync::OnceLock;

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

/// Messages, by topic; `help.ftl` holds the texts of `--help` and
/// `sigap man`.
const ID: &[(&str, &str)] = files!("id": "common.ftl", "errors.ftl", "help.ftl", "import.ftl",
    "issues.ftl", "prompt.ftl", "register.ftl", "status.ftl", "sync.ftl");
const EN: &[(&str, &str)] = files!("en": "common.ftl", "errors.ftl", "help.ftl", "import.ftl",
    "issues.ftl", "prompt.ftl", "register.ftl", "status.ftl", "sync.ftl");
const FILES: usize = 9;

/// The file names and texts of `lang`'s catalogue.
pub fn files(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Id => ID,
        Lang::En => EN,
    }
}

/// The index of the file of `lang` that holds message `id`: the one with
/// a line `id = …`. Found by a plain search each time (a few kilobytes
/// per file); an index of every id, made once, cost more than the parse
/// it spares.
fn file_of(lang: Lang, id: &str) -> Option<usize> {
    let line = format!("\n{id} =");
    files(lang)
        .iter()
        .position(|(_, text)| text.contains(&line) || text.starts_with(&line[1..]))
}

fn bundle(lang: Lang, text: &'static str) -> Bundle {
    let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // Fluent wraps every argument in Unicode isolation marks, which a
    // terminal shows as nothing but which break copying a NIK out of a
    // message and every test that looks for one.
    b.set_use_isolating(false);
    // A file with a syntax error keeps the messages that parse, and an id
    // twice is kept once; the catalogue tests fail on either.
    let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(|(r, _)| r);
    let _ = b.add_resource(resource);
    b
}

static BUNDLES: [[OnceLock<Bundle>; FILES]; 2] = [const { [const { OnceLock::new() }; FILES] }; 2];

/// The message `id` in `lang`, formatted with `args`; `None` when there is
/// no such message or the arguments do not fill it.
pub fn format(lang: Lang, id: &str, args: &[(&str, String)]) -> Option<String> {
    let l = usize::from(lang == Lang::En);
    let file = file_of(lang, id)?;
    let (_, text) = files(lang).get(file)?;
    let bundle = BUNDLES[l].get(file)?.get_or_init(|| bundle(lang, text));
    let pattern = bundle.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, FluentValue::from(v.clone()));
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}
