//! `sigap-server device assign`.

use std::process::ExitCode;

use uuid::Uuid;

use super::{CommandError, usage};
use crate::cli::DeviceCommand;
use crate::store::{Role, Store};

pub fn run(store: &dyn Store, cmd: DeviceCommand) -> Result<ExitCode, CommandError> {
    match cmd {
        DeviceCommand::Assign { device, token } => assign(store, &device, &token),
    }
}

fn assign(store: &dyn Store, device: &str, token: &str) -> Result<ExitCode, CommandError> {
    let id = Uuid::parse_str(device.trim()).map_err(|e| {
        usage(format!(
            "{device:?} is not a device id ({e}); the laptop's `sigap status` shows it"
        ))
    })?;
    let tokens = store.list_tokens()?;
    let t = tokens
        .iter()
        .find(|t| t.name == token)
        .or_else(|| tokens.iter().find(|t| t.id.to_string() == token))
        .ok_or_else(|| {
            usage(format!(
                "no token with id or name {token:?}; see `sigap-server token list`"
            ))
        })?;
    let expired = t.expired_at(super::token::now_millis());
    if t.role != Role::Agent || t.revoked_at.is_some() || expired {
        return Err(usage(format!(
            "token {} ({}) is {}; a laptop syncs with an active agent token",
            t.id,
            t.name,
            if t.revoked_at.is_some() {
                "revoked".to_string()
            } else if expired {
                "expired".to_string()
            } else {
                format!("a {} token", t.role.as_str())
            }
        )));
    }
    store.assign_device(id, t.id)?;
    eprintln!("device {id} now syncs with token {} ({})", t.id, t.name);
    Ok(ExitCode::SUCCESS)
}
