//! clap's help in the agent's language. The derive structs in `cli.rs`
//! keep the shape of the command line; every text clap shows is replaced
//! from the catalogue (`help.ftl`): a command's about is `help-<command>`
//! (`help-sigap` for the tool itself) with an optional `help-<command>-long`,
//! an argument's help `help-<command>-<arg>`, or `help-arg-<arg>` for the
//! arguments several commands share (the global flags, the fields).

use std::ffi::OsString;

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, Command, CommandFactory, FromArgMatches};
use sigap_shared::Lang;

use crate::cli::Cli;
use crate::error::CliError;

/// The root command's key part.
const ROOT: &str = "sigap";

/// The first of `ids` the catalogue has in `lang`.
fn first(lang: Lang, ids: &[String]) -> Option<String> {
    ids.iter().find_map(|id| super::try_text(lang, id, &[]))
}

/// The catalogue ids of a command's about and long about.
pub fn about_ids(command: &str) -> (String, String) {
    (format!("help-{command}"), format!("help-{command}-long"))
}

/// The catalogue ids tried for an argument's help, in order.
pub fn arg_ids(command: &str, arg: &str) -> [String; 2] {
    [format!("help-{command}-{arg}"), format!("help-arg-{arg}")]
}

/// The help after `sigap --help`: a typical day, exit statuses, the
/// environment.
pub fn after_help(lang: Lang) -> String {
    super::text(lang, "help-after", &[])
}

/// The whole command line, built, with every text in `lang`.
pub fn command(lang: Lang) -> Command {
    let mut cmd = Cli::command();
    // Built first: the global flags, `--help`, `--version` and the `help`
    // command exist in every command only once built.
    cmd.build();
    localize(cmd, ROOT, lang).after_help(after_help(lang))
}

fn localize(mut cmd: Command, name: &str, lang: Lang) -> Command {
    let (about, long) = about_ids(name);
    if let Some(text) = first(lang, &[about]) {
        cmd = match first(lang, &[long]) {
            Some(l) => cmd.long_about(format!("{text}\n\n{l}")),
            None => cmd.long_about(None::<&'static str>),
        }
        .about(text);
    }
    let options = super::text(lang, "help-heading-options", &[]);
    let arguments = super::text(lang, "help-heading-arguments", &[]);
    let usage = super::text(lang, "help-heading-usage", &[]);
    cmd = cmd
        .subcommand_help_heading(super::text(lang, "help-heading-commands", &[]))
        .subcommand_value_name(super::text(lang, "help-command-value", &[]))
        .help_template(format!(
            "{{before-help}}{{about-with-newline}}\n{usage} {{usage}}\n\n{{all-args}}{{after-help}}"
        ));
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let help = first(lang, &arg_ids(name, &id));
        let (options, arguments) = (options.clone(), arguments.clone());
        cmd = cmd.mut_arg(&id, move |a: Arg| {
            let heading = if a.is_positional() {
                arguments
            } else {
                options
            };
            let a = a.help_heading(heading);
            match help {
                // clap's "[env: …]" and "[possible values: …]" are English:
                // the catalogue's text names the variable and the values.
                Some(h) => a
                    .help(h)
                    .long_help(None::<&'static str>)
                    .hide_env(true)
                    .hide_possible_values(true),
                None => a,
            }
        });
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for sub in subs {
        cmd = cmd.mut_subcommand(&sub, |s| localize(s, &sub, lang));
    }
    cmd
}

/// Parses the command line with help in `lang`. Help and the version are
/// printed as clap prints them (and the process ends); a usage error comes
/// back worded in `lang`, for `main` to print as any input error.
pub fn parse(lang: Lang, args: Vec<OsString>) -> Result<Cli, CliError> {
    // The texts are looked up only when clap is to show them: a command
    // that parses (most runs, `sigap register` among them) does without
    // building the localized command, a third of a short run's time.
    let mut plain = Cli::command();
    let matches = match plain.try_get_matches_from_mut(args.clone()) {
        Ok(m) => m,
        // "sigap 0.1.0" says nothing in any language.
        Err(e) if e.kind() == ErrorKind::DisplayVersion => e.exit(),
        Err(e) if shows_help(&e) => command(lang)
            .try_get_matches_from(args)
            .map_err(|e| usage_error(lang, e))?,
        Err(e) => return Err(usage_error(lang, e)),
    };
    Cli::from_arg_matches(&matches).map_err(|e| usage_error(lang, e))
}

/// Whether clap stops to show help or the version rather than an error.
fn shows_help(e: &clap::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// clap's usage error in `lang`: the common kinds from the catalogue with
/// clap's own details (the argument, the value, the valid values), the
/// rare ones as clap words them.
fn usage_error(lang: Lang, e: clap::Error) -> CliError {
    if shows_help(&e) {
        e.exit();
    }
    let ctx = |k: ContextKind| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let say = |id: &str, args: &[(&str, String)]| super::text(lang, id, args);
    let arg = ("arg", ctx(ContextKind::InvalidArg));
    let value = ctx(ContextKind::InvalidValue);
    let mut text = match e.kind() {
        ErrorKind::UnknownArgument => say("usage-unknown-argument", &[arg]),
        ErrorKind::InvalidSubcommand => say(
            "usage-unknown-command",
            &[("command", ctx(ContextKind::InvalidSubcommand))],
        ),
        ErrorKind::InvalidValue if value.is_empty() => say("usage-value-required", &[arg]),
        ErrorKind::InvalidValue => say(
            "usage-invalid-value",
            &[
                arg,
                ("value", value),
                ("valid", ctx(ContextKind::ValidValue)),
            ],
        ),
        ErrorKind::ValueValidation => say(
            "usage-value-validation",
            &[
                arg,
                ("value", value),
                (
                    "detail",
                    std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                ),
            ],
        ),
        ErrorKind::MissingRequiredArgument => say("usage-missing-argument", &[arg]),
        ErrorKind::ArgumentConflict => say(
            "usage-conflict",
            &[arg, ("other", ctx(ContextKind::PriorArg))],
        ),
        ErrorKind::MissingSubcommand => say("usage-missing-command", &[]),
        // Rare: clap's own words, less its "error: " and usage lines.
        _ => e
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    };
    for kind in [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ] {
        let s = ctx(kind);
        if !s.is_empty() {
            text.push_str(&say("usage-suggest", &[("suggestion", s)]));
        }
    }
    text.push('\n');
    text.push_str(&say("usage-see-help", &[]));
    CliError::Input(text)
}
