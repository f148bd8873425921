//! `sigap-server token create|list|revoke`.

use std::process::ExitCode;

use sigap_shared::{AreaCode, Level};

use super::{CommandError, usage};
use crate::cli::TokenCommand;
use crate::store::{NewToken, Role, SqliteStore, Store};

pub fn run(store: &SqliteStore, cmd: TokenCommand) -> Result<ExitCode, CommandError> {
    match cmd {
        TokenCommand::Create {
            role,
            name,
            areas,
            json,
        } => create(store, role, name, &areas, json),
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
    store: &SqliteStore,
    role: Role,
    name: String,
    areas: &[String],
    json: bool,
) -> Result<ExitCode, CommandError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(usage("--name must not be empty"));
    }
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
    })?;
    if json {
        let v = serde_json::json!({
            "id": info.id,
            "name": info.name,
            "role": info.role,
            "areas": info.areas,
            "token": secret,
        });
        println!("{v}");
    } else {
        println!("{secret}");
    }
    eprintln!(
        "created {} token {} ({}); it is shown only once, keep it safe",
        info.role.as_str(),
        info.id,
        info.name
    );
    Ok(ExitCode::SUCCESS)
}

fn list(store: &SqliteStore, json: bool) -> Result<ExitCode, CommandError> {
    let tokens = store.list_tokens()?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&tokens).map_err(|e| usage(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>4}  {:<20} {:<10} {:<8} AREAS",
        "ID", "NAME", "ROLE", "STATUS"
    );
    for t in tokens {
        let areas: Vec<String> = t.areas.iter().map(|a| a.to_string()).collect();
        let areas = if areas.is_empty() {
            "(all)".to_string()
        } else {
            areas.join(",")
        };
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        };
        println!(
            "{:>4}  {:<20} {:<10} {:<8} {areas}",
            t.id,
            t.name,
            t.role.as_str(),
            status
        );
    }
    Ok(ExitCode::SUCCESS)
}
