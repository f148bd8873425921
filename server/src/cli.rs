//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::store::Role;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  partial failure (some rows rejected, or coverage verify found differences)
  2  usage error or bad input
  3  database error

Every command works on the database given by --database-url or
SIGAP_DATABASE_URL (postgres://… or sqlite:PATH), else on the SQLite file
given by --db or SIGAP_SERVER_DB (default: sigap-server.db in the current
directory).";

/// SIGAP central server: sync API, merge, coverage and admin commands.
#[derive(Debug, Parser)]
#[command(name = "sigap-server", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// SQLite database file (created if missing).
    #[arg(
        long,
        global = true,
        env = "SIGAP_SERVER_DB",
        default_value = "sigap-server.db"
    )]
    pub db: PathBuf,
    /// The database as a URL instead: `postgres://user@host/db` (several
    /// servers may share one; `?schema=NAME` keeps the tables in a schema
    /// of their own) or `sqlite:PATH`. Overrides --db.
    #[arg(
        long,
        global = true,
        env = "SIGAP_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Copy the database to FILE while the server keeps serving (a
    /// consistent snapshot). To restore: stop the server, put the copy in
    /// place of the database file (removing its -wal and -shm files), start.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
    /// Bring the database's schema up to date and say its version
    /// (`serve` and every command also do this when they start).
    Migrate,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Working-population baselines per area and year.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Coverage targets per area and year.
    #[command(subcommand)]
    Target(TargetCommand),
    /// The membership roll of existing participants.
    #[command(subcommand)]
    Participants(ParticipantsCommand),
    /// Coverage figures and their consistency.
    #[command(subcommand)]
    Coverage(CoverageCommand),
    /// Field laptops and the tokens they belong to.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Move a branch office's SQLite database into a PostgreSQL database
    /// ("moving up"), without loss; run it again to finish an interrupted
    /// copy.
    #[command(after_long_help = crate::commands::copy::LONG_HELP)]
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The office's database: `sqlite:PATH` (or just PATH). It is only
    /// read; stop the office's server first.
    #[arg(long, value_name = "sqlite:PATH")]
    pub from: String,
    /// The PostgreSQL database to copy into: `postgres://user@host/db`,
    /// with `?schema=NAME` if its servers use one. Default: the global
    /// --database-url / SIGAP_DATABASE_URL.
    #[arg(long, value_name = "postgres://…")]
    pub to: Option<String>,
    /// Copy the office's tokens whose names the target already gives to
    /// other tokens under NAME plus this suffix (e.g. `-solo`: budi
    /// becomes budi-solo). Without it such a copy is refused.
    #[arg(long, value_name = "SUFFIX", value_parser = parse_token_suffix)]
    pub token_suffix: Option<String>,
    /// Rows written per transaction.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,
}

/// `--token-suffix`: what a token name may hold, and not empty.
fn parse_token_suffix(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 40 || text.chars().any(|c| c.is_control() || c == ',') {
        return Err(format!(
            "--token-suffix {text:?}: give 1 to 40 printable characters without commas, e.g. -solo"
        ));
    }
    Ok(text.to_string())
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SIGAP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How far ahead of this server's clock a change may be stamped
    /// (`30m`, `24h`, `2d`); later stamps are refused with
    /// `clock_ahead`, for the agent to fix the laptop's clock.
    #[arg(long, env = "SIGAP_MAX_CLOCK_SKEW", default_value = "24h", value_parser = parse_skew)]
    pub max_clock_skew: u64,
    /// The server is reached over https through a TLS proxy: the
    /// dashboard's cookies are marked Secure even when the proxy does
    /// not say `X-Forwarded-Proto: https`.
    #[arg(long, env = "SIGAP_BEHIND_TLS")]
    pub behind_tls: bool,
    /// Serve HTTPS with this certificate chain (PEM). Reloaded from the
    /// file on SIGHUP, so a renewed certificate needs no restart.
    #[arg(long, env = "SIGAP_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM), with --tls-cert.
    #[arg(long, env = "SIGAP_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (off by default;
    /// keep it on an address only the monitoring system reaches).
    #[arg(long, env = "SIGAP_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Longest a request may take, body included (`30s`, `2m`).
    #[arg(long, default_value = "60s", value_parser = parse_request_timeout)]
    pub request_timeout: u64,
    /// Requests served at once; more get 503 with Retry-After.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_concurrent: u32,
    /// Failed sign-ins allowed per client address and minute before 429
    /// (0: no limit).
    #[arg(long, default_value_t = crate::http::throttle::DEFAULT_FAILURES_PER_WINDOW)]
    pub auth_failures_per_minute: u32,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Give a laptop to another agent token: after its token was revoked
    /// and the agent was given a new one (the device id is in the
    /// laptop's `sigap status`). Its unsent changes then sync under the
    /// new token.
    Assign {
        /// The device id (a UUID).
        device: String,
        /// The agent token (id or name) the laptop syncs with from now on.
        #[arg(long)]
        token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (alone on stdout).
    Create {
        #[arg(long, value_enum)]
        role: Role,
        /// A unique name, e.g. the agent's name; shown in the audit trail.
        #[arg(long)]
        name: String,
        /// An area the token may work in (kota, kecamatan or kelurahan code);
        /// repeat for several. Required for agents and supervisors.
        #[arg(long = "area")]
        areas: Vec<String>,
        /// Refuse the token after this long: e.g. 30m, 12h, 90d, 2w.
        /// Without it the token does not expire.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Print {"id","name","role","areas","expires_at","token"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never shows the secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id or name.
    Revoke {
        /// Token id or name.
        token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Set the working population of one area and year.
    Set {
        #[arg(long)]
        area: String,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        working_population: u64,
    },
    /// Import baselines from a CSV file with columns area,year,working_population.
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// Set the target of one area and year.
    Set {
        #[arg(long)]
        area: String,
        #[arg(long)]
        year: i32,
        /// Target coverage, e.g. 57.02.
        #[arg(long)]
        percent: String,
        /// The target as a published head count, if any.
        #[arg(long)]
        count: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ParticipantsCommand {
    /// Import the roll from a CSV file with columns nik,kelurahan,rw,rt,category.
    Import(RollImportArgs),
}

#[derive(Debug, Args)]
pub struct RollImportArgs {
    #[command(flatten)]
    pub file: ImportArgs,
    /// The date the roll stands for (YYYY-MM-DD; default today): its
    /// participants count as covered from that date's year on. A person
    /// keeps the earliest date any import gave them.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (header row required; extra columns are ignored).
    pub file: PathBuf,
    /// Write nothing if any row is bad.
    #[arg(long)]
    pub strict: bool,
    /// The column separator: ';' (or semicolon), as Excel set to
    /// Indonesian saves CSV, or ',' (or comma). Default: found from the
    /// header row.
    #[arg(long, value_name = "SEP", value_parser = sigap_shared::csv_format::parse_delimiter)]
    pub delimiter: Option<u8>,
}

#[derive(Debug, Subcommand)]
pub enum CoverageCommand {
    /// Show coverage of an area, read from the database.
    Show {
        #[arg(long)]
        area: String,
        /// The year (default: this year): its baseline and target, and who
        /// was covered at its end (the current year: everyone covered now).
        #[arg(long)]
        year: Option<i32>,
        /// Levels of child areas to include (0 to 4).
        #[arg(long, default_value_t = 0)]
        depth: u8,
        #[arg(long)]
        json: bool,
    },
    /// Recount coverage from every person and compare with the counters.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

/// `--max-clock-skew`: at least a minute (a laptop's clock is never that
/// exact), at most a week.
fn parse_request_timeout(text: &str) -> Result<u64, String> {
    crate::time_text::parse_duration("request-timeout", text, "60s", 3_600_000)
}

fn parse_skew(text: &str) -> Result<u64, String> {
    let ms = crate::time_text::parse_duration("max-clock-skew", text, "24h", 7 * 86_400_000)?;
    if ms < 60_000 {
        return Err(format!(
            "--max-clock-skew {text:?} is too short; give at least 1m"
        ));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse_skew;

    #[test]
    fn skews_parse_with_their_unit() {
        assert_eq!(parse_skew("24h").unwrap(), 86_400_000);
        assert_eq!(parse_skew("30m").unwrap(), 1_800_000);
        assert_eq!(parse_skew("2d").unwrap(), 172_800_000);
        for bad in ["", "24", "h", "5x", "-1h", "8d", "99999999999999999d"] {
            assert!(parse_skew(bad).is_err(), "{bad}");
        }
    }
}
