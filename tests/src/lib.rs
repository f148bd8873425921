//! Support for SIGAP's end-to-end tests: start the real `sigap-server`,
//! drive the real `sigap`, put a faulty proxy between them, and make valid
//! test people.
//!
//! Test support may panic: a panic here is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bench;
pub mod measure;
pub mod people;
pub mod pg;
pub mod procs;
pub mod proxy;

pub use people::{Person, registrations_csv, roll_csv};
pub use pg::Backend;
pub use procs::{Agent, Server, bin, free_port};
pub use proxy::FaultProxy;

/// The current year (UTC). Coverage for a past year counts only who was
/// covered by its end, so figures that include registrations made while
/// a test runs are asked for this year.
pub fn this_year() -> u32 {
    u32::try_from(sigap_shared::today().year()).unwrap_or(0)
}
