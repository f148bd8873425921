//! `sigap completions SHELL` and `sigap man`: the CLI describing itself.
//! Neither touches the database.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap_complete::Shell;

use crate::error::exit;
use crate::i18n::{self, help, t};

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = help::command(i18n::lang());
    let name = cmd.get_name().to_string();
    // Into memory first: `clap_complete::generate` panics on a write error,
    // and a closed pipe (`sigap completions bash | head`) is no error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    print(&script).context(t!("docs-cannot-write-completions"))
}

/// Prints the man page (roff) on stdout: one page, `sigap(1)`, with every
/// command and its options, since only this page is installed. In the
/// agent's language, as `--help` is.
pub fn man() -> anyhow::Result<ExitCode> {
    let page = man_page().context(t!("docs-cannot-render-man"))?;
    print(&page).context(t!("docs-cannot-write-man"))
}

fn man_page() -> std::io::Result<Vec<u8>> {
    let cmd = help::command(i18n::lang());
    let top = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    top.render_title(&mut page)?;
    top.render_name_section(&mut page)?;
    top.render_synopsis_section(&mut page)?;
    top.render_description_section(&mut page)?;
    top.render_options_section(&mut page)?;
    page.extend_from_slice(format!(".SH {}\n", t!("docs-man-commands")).as_bytes());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("sigap {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(&name));
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        page.extend_from_slice(format!(".SS \"{name}\"\n").as_bytes());
        // The command's sections become paragraphs of its subsection.
        for line in part.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".SH ") {
                page.extend_from_slice(b".PP\n");
            } else {
                page.extend_from_slice(line);
            }
        }
    }
    // The notes of `sigap --help` keep their lines (filled, they break up).
    page.extend_from_slice(format!(".SH {}\n.nf\n", t!("docs-man-notes")).as_bytes());
    for line in help::after_help(i18n::lang()).lines() {
        let line = line.replace('\\', "\\e");
        if line.starts_with(['.', '\'']) {
            page.extend_from_slice(b"\\&");
        }
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }
    page.extend_from_slice(b".fi\n");
    top.render_version_section(&mut page)?;
    Ok(localize_headings(&page))
}

/// clap_mangen's section headings in the agent's language.
fn localize_headings(page: &[u8]) -> Vec<u8> {
    let headings = [
        ("NAME", t!("docs-man-name")),
        ("SYNOPSIS", t!("docs-man-synopsis")),
        ("DESCRIPTION", t!("docs-man-description")),
        ("OPTIONS", t!("docs-man-options")),
        ("VERSION", t!("docs-man-version")),
    ];
    let mut out = Vec::with_capacity(page.len());
    for line in page.split_inclusive(|&b| b == b'\n') {
        let heading = headings.iter().find(|(h, _)| {
            line.strip_prefix(b".SH ")
                .is_some_and(|rest| rest.trim_ascii() == h.as_bytes())
        });
        match heading {
            Some((_, local)) => out.extend_from_slice(format!(".SH {local}\n").as_bytes()),
            None => out.extend_from_slice(line),
        }
    }
    out
}

fn print(bytes: &[u8]) -> std::io::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(ExitCode::from(exit::OK))
}
