//! # sigap-server
//!
//! The SIGAP central server: the sync API of `docs/sync-api.md` on axum,
//! the merge engine (one person per NIK), coverage kept current as changes
//! merge, roles by token, and the admin commands, over a [`store::Store`]
//! (SQLite by default).

pub mod claims;
pub mod cli;
pub mod commands;
pub mod coverage;
pub mod engine;
pub mod http;
pub mod logging;
pub mod protocol;
pub mod store;
pub mod time_text;
pub mod token;
pub mod web;
pub mod weekly;

pub use http::{AppState, app};
