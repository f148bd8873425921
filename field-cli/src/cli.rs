//! Command-line interface: the flags, written for a field agent. The help
//! texts agents see come from the catalogues (`locales/*/help.ftl`, see
//! `i18n::help`); the doc comments here say what each flag is for.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// SIGAP field tool: register workers for BPJS Ketenagakerjaan offline and
/// sync them with the branch office server.
#[derive(Debug, Parser)]
#[command(name = "sigap", version)]
pub struct Cli {
    /// Database file [default: sigap.db in your data folder].
    #[arg(long, global = true, env = "SIGAP_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables and sentences.
    #[arg(long, global = true)]
    pub json: bool,

    /// Language of messages and help: id (Bahasa Indonesia) or en
    /// (English). Read before parsing (see `i18n::choose`), so that help
    /// comes out in it; held here so that clap knows the flag.
    #[arg(long, global = true, env = "SIGAP_LANG", value_name = "id|en")]
    pub lang: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up this device: the server to sync with, its name and token.
    ///
    /// Run it once before registering. Run it again to change the server,
    /// the name or the token; the device id stays the same.
    Init(InitArgs),
    /// Register a worker. Missing fields are asked for on a terminal.
    Register(RegisterArgs),
    /// List the people registered on this device.
    List(ListArgs),
    /// Show one person's registration (and its history with --history).
    Show(ShowArgs),
    /// Change fields of a registration (also fixes a rejected change).
    Edit(EditArgs),
    /// Cancel a registration, with a reason. It stays in the history.
    Void(VoidArgs),
    /// Import registrations typed up from paper forms (CSV).
    Import(ImportArgs),
    /// Export registrations to CSV (same columns as import).
    Export(ExportArgs),
    /// Supervisors: coverage, agents and progress from the server, as a
    /// table, JSON, CSV or Excel.
    Report(ReportArgs),
    /// Supervisors: identity conflicts to resolve, both sides side by side.
    Conflicts(ConflictsArgs),
    /// Supervisors: resolve a conflict by choosing the values to keep.
    Resolve(ResolveArgs),
    /// Log the visit of an RT (households visited), for progress per RT.
    Visit(VisitArgs),
    /// Show the progress per RT: households visited and people registered.
    Progress(ProgressArgs),
    /// What is on this device: records, pending and rejected changes, last sync.
    Status,
    /// Send pending changes to the server and fetch the people of your areas.
    Sync(SyncArgs),
    /// Is this NIK already registered? Answers offline from the last sync.
    Lookup(LookupArgs),
    /// Keep the database unlocked for a while (the key in the OS keyring),
    /// so that commands do not ask for the passphrase.
    Unlock(UnlockArgs),
    /// Lock the database again now: forget the key `sigap unlock` kept.
    Lock,
    /// Check this laptop: database, refused changes, replica age, server,
    /// HTTPS and clock, with a verdict.
    Doctor,
    /// Copy the database (still encrypted) and its key settings to FILE
    /// and FILE.salt: keep both to restore this laptop's work.
    Backup(BackupArgs),
    /// Change the database's passphrase (asked twice, or SIGAP_NEW_PASSPHRASE).
    Passphrase,
    /// Print the tab-completion script for a shell (needs no database).
    ///
    /// bash: sigap completions bash > ~/.local/share/bash-completion/completions/sigap
    ///
    /// zsh: sigap completions zsh > ~/.zfunc/_sigap (a folder in your $fpath)
    ///
    /// fish: sigap completions fish > ~/.config/fish/completions/sigap.fish
    ///
    /// Then open a new terminal.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of sigap (needs no database).
    ///
    /// Install it with `sigap man > ~/.local/share/man/man1/sigap.1`, then
    /// read it with `man sigap`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Server address, e.g. https://sigap.kantor-solo.example
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// A name for this device, e.g. laptop-budi.
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// Access token from your supervisor.
    #[arg(
        long,
        env = "SIGAP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// The office's own certificate authority (a PEM file), trusted for
    /// the server's certificate besides the system's.
    #[arg(long, env = "SIGAP_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<String>,
    /// Allow plain http:// to a server that is not this laptop: tokens and
    /// personal data then cross the network unencrypted.
    #[arg(long)]
    pub insecure: bool,
}

/// The fields of a registration, as flags.
#[derive(Debug, Args, Default, Clone)]
pub struct FieldArgs {
    /// Full name as on the KTP.
    #[arg(long)]
    pub name: Option<String>,
    /// Birth date: YYYY-MM-DD or DD-MM-YYYY.
    #[arg(long, value_name = "DATE")]
    pub birth_date: Option<String>,
    /// Sex: L (laki-laki) or P (perempuan).
    #[arg(long, value_name = "L|P")]
    pub sex: Option<String>,
    /// Kelurahan: its name or part of it (pajang, "kp baru") or its code
    /// (33.72.01.1001).
    #[arg(long, value_name = "NAME|CODE")]
    pub kelurahan: Option<String>,
    /// RW number.
    #[arg(long, value_name = "N")]
    pub rw: Option<String>,
    /// RT number.
    #[arg(long, value_name = "N")]
    pub rt: Option<String>,
    /// pu (wage earner), bpu (informal), jakon (construction), pmi (migrant).
    #[arg(long, value_name = "pu|bpu|jakon|pmi")]
    pub category: Option<String>,
    /// Occupation, e.g. pedagang, buruh, ojek.
    #[arg(long)]
    pub occupation: Option<String>,
    /// Employer (required for pu).
    #[arg(long)]
    pub employer: Option<String>,
    /// Phone, e.g. 081234567890.
    #[arg(long)]
    pub phone: Option<String>,
    /// Programmes, e.g. jkk,jkm,jht [default: those the category requires].
    #[arg(long, value_name = "LIST")]
    pub programs: Option<String>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The 16-digit NIK from the KTP.
    #[arg(long)]
    pub nik: Option<String>,
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Register even though the last sync says someone else already did
    /// (the server merges both into one person).
    #[arg(long)]
    pub force: bool,
    /// Never ask; fail listing the missing fields instead.
    #[arg(long)]
    pub no_input: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this kelurahan (name or code).
    #[arg(long, value_name = "NAME|CODE")]
    pub kelurahan: Option<String>,
    /// Only this RW.
    #[arg(long, value_name = "N")]
    pub rw: Option<String>,
    /// Only this RT.
    #[arg(long, value_name = "N")]
    pub rt: Option<String>,
    /// Only people with changes not yet accepted by the server.
    #[arg(long)]
    pub pending: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The NIK.
    pub nik: String,
    /// Also list every change made to this person on this device.
    #[arg(long)]
    pub history: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The NIK of the registration to change.
    pub nik: String,
    #[command(flatten)]
    pub fields: FieldArgs,
}

#[derive(Debug, Args)]
pub struct VoidArgs {
    /// The NIK of the registration to cancel.
    pub nik: String,
    /// Why, e.g. "duplicate form" or "moved away".
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV file with a header row: nik,name,birth_date,sex,kelurahan,rw,rt,
    /// category,occupation,employer,phone,programs (kelurahan: name or code)
    pub file: PathBuf,
    /// Save nothing if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// The column separator: ';' (or semicolon), as Excel set to
    /// Indonesian saves CSV, or ',' (or comma). Default: found from the
    /// header row.
    #[arg(long, value_name = "SEP", value_parser = sigap_shared::csv_format::parse_delimiter)]
    pub delimiter: Option<u8>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy; must not exist yet (FILE.salt is written
    /// beside it).
    pub file: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output CSV file, or - for the screen.
    pub file: String,
}

#[derive(Debug, Args)]
pub struct VisitArgs {
    /// Kelurahan: its name or code.
    #[arg(long, value_name = "NAME|CODE")]
    pub kelurahan: String,
    /// RW number.
    #[arg(long, value_name = "N")]
    pub rw: String,
    /// RT number.
    #[arg(long, value_name = "N")]
    pub rt: String,
    /// How many households you visited.
    #[arg(long, value_name = "N")]
    pub households: u32,
    /// A note, e.g. "ketua RT absent, come back Friday".
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// Only this kelurahan (name or code).
    #[arg(long, value_name = "NAME|CODE")]
    pub kelurahan: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Check with the server that it holds every change sent from here.
    #[arg(long)]
    pub verify: bool,
    /// Pull every person of your areas again from the start, your own
    /// registrations included (after restoring this device from a backup,
    /// or when the replica is damaged).
    #[arg(long, conflicts_with = "verify")]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// How long the key is kept: 30m, 8h, 2d (at most 7d). Then the
    /// database locks again.
    #[arg(long = "for", value_name = "DURATION", default_value = "8h",
          value_parser = crate::unlock::parse_for)]
    pub how_long: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The NIK to look up.
    pub nik: String,
}

/// What a report lists, one row per…
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportBy {
    /// …area, with its children down to --depth.
    Area,
    /// …participant category (PU, BPU, Jakon, PMI).
    Category,
    /// …agent, with their devices' last sync.
    Agent,
    /// …day of the coverage history.
    Day,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Area code [default: the token's first area].
    #[arg(long, value_name = "CODE")]
    pub area: Option<String>,
    /// Year of the figures [default: this year].
    #[arg(long, value_name = "Y")]
    pub year: Option<i32>,
    /// Levels of child areas with --by area (0 to 4) [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=4))]
    pub depth: Option<u8>,
    /// One row per area, category, agent or day [default: area].
    #[arg(long, value_enum)]
    pub by: Option<ReportBy>,
    /// Coverage over time, per week (per day with --by day).
    #[arg(long)]
    pub history: bool,
    /// Also write the table to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write the table to this Excel workbook (.xlsx).
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
}

/// Which conflicts to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictStatus {
    Open,
    Resolved,
    All,
}

impl ConflictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictStatus::Open => "open",
            ConflictStatus::Resolved => "resolved",
            ConflictStatus::All => "all",
        }
    }
}

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// Which conflicts to list.
    #[arg(long, value_enum, default_value = "open")]
    pub status: ConflictStatus,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The conflict's number (from `sigap conflicts`).
    pub id: u64,
    /// A value to keep: name=TEXT, birth_date=YYYY-MM-DD or sex=VALUE.
    /// Give one --keep per field.
    #[arg(long, value_name = "FIELD=VALUE")]
    pub keep: Vec<String>,
    /// Why, kept with the resolution.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}
