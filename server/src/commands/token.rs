//! `sigap-server token create|list|revoke`.

use std::process::ExitCode;

use sigap_shared::{AreaCode, Level};

use super::{CommandError, usage};
use crate::cli::TokenCommand;
use crate::store::{NewToken, Role, Store};

/// Now, in the Unix milliseconds tokens' times are stored in.
pub(crate) fn now_millis() -> i64 {
    i64::try_from(sigap_shared::hlc::wall_millis()).unwrap_or(i64::MAX)
}

pub fn run(store: &dyn Store, cmd: TokenCommand) -> Result<ExitCode, CommandError> {
    match cmd {
        TokenCommand::Create {
            role,
            name,
            areas,
            expires,
            json,
        } => create(store, role, name, &areas, expires.as_deref(), json),
        TokenCommand::List { json } => list(store, json),
        TokenCommand::Revoke { token } => match store.revoke_token(&token)? {
            Some(t) => {
                eprintln!("revoked token {} ({})", t.id, t.name);
                Ok(ExitCode::SUCCESS)
            }
            None => Err(usage(format!(
                "no token with id or name {token:?}; see `sigap-server token list`"
            ))),
        },
    }
}

fn create(
    store: &dyn Store,
    role: Role,
    name: String,
    areas: &[String],
    expires: Option<&str>,
    json: bool,
) -> Result<ExitCode, CommandError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(usage("--name must not be empty"));
    }
    let expires_at = expires
        .map(crate::token::parse_expires)
        .transpose()
        .map_err(usage)?
        .map(|ms| now_millis().saturating_add(ms));
    let mut codes = Vec::new();
    for a in areas {
        let code = AreaCode::parse(a).map_err(|e| usage(format!("--area: {e}")))?;
        if code.level() > Level::Kelurahan {
            return Err(usage(format!(
                "--area {code} is an RW/RT code; give a kota, kecamatan or kelurahan code"
            )));
        }
        codes.push(code);
    }
    if role != Role::Admin && codes.is_empty() {
        return Err(usage(format!(
            "a {} token needs at least one --area (e.g. --area 33.72.01 for kecamatan Laweyan)",
            role.as_str()
        )));
    }
    let secret = crate::token::generate();
    let info = store.create_token(&NewToken {
        name,
        role,
        areas: codes,
        hash: crate::token::hash(&secret),
        expires_at,
    })?;
    if json {
        let v = serde_json::json!({
            "id": info.id,
            "name": info.name,
            "role": info.role,
            "areas": info.areas,
            "expires_at": info.expires_at,
            "token": secret,
        });
        println!("{v}");
    } else {
        println!("{secret}");
    }
    let until = match info.expires_at {
        Some(e) => format!("expires {}", crate::time_text::format_time(e)),
        None => "does not expire".to_string(),
    };
    eprintln!(
        "created {} token {} ({}, {until}); it is shown only once, keep it safe",
        info.role.as_str(),
        info.id,
        info.name
    );
    Ok(ExitCode::SUCCESS)
}

fn list(store: &dyn Store, json: bool) -> Result<ExitCode, CommandError> {
    let tokens = store.list_tokens()?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&tokens).map_err(|e| usage(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_millis();
    println!(
        "{:>4}  {:<20} {:<10} {:<8} {:<20} AREAS",
        "ID", "NAME", "ROLE", "STATUS", "EXPIRES"
    );
    for t in tokens {
        let areas: Vec<String> = t.areas.iter().map(|a| a.to_string()).collect();
        let areas = if areas.is_empty() {
            "(all)".to_string()
        } else {
            areas.join(",")
        };
        // Revoked wins over expired: revoking is the stronger, deliberate act.
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expired_at(now) {
            "expired"
        } else {
            "active"
        };
        let expires = t
            .expires_at
            .map_or_else(|| "never".to_string(), crate::time_text::format_time);
        println!(
            "{:>4}  {:<20} {:<10} {:<8} {:<20} {areas}",
            t.id,
            t.name,
            t.role.as_str(),
            status,
            expires
        );
    }
    Ok(ExitCode::SUCCESS)
}
