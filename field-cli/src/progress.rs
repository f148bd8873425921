//! Progress bars for long work (import, export, sync), on stderr: drawn
//! only on a terminal, and only once the work has taken more than a
//! moment, so that a short command prints no bar at all and a script or a
//! test that captures the output never sees one.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows no bar.
const SHOW_AFTER: Duration = Duration::from_millis(400);

pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    drawn: bool,
}

impl Progress {
    /// A bar of `total` steps, named `what` (e.g. "sending").
    pub fn new(total: u64, what: &str) -> Progress {
        Progress::styled(Some(total), what, "{msg:12} [{bar:30}] {pos}/{len}")
    }

    /// A count with no known end (e.g. persons pulled), named `what`.
    pub fn counter(what: &str) -> Progress {
        Progress::styled(None, what, "{msg:12} {spinner} {pos}")
    }

    /// A bar over `total` bytes of a file, with `what` as its message
    /// (updated with [`Progress::set_message`]).
    pub fn bytes(total: u64, what: &str) -> Progress {
        Progress::styled(Some(total), what, "{msg:24} [{bar:30}] {percent:>3}%")
    }

    fn styled(total: Option<u64>, what: &str, template: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Progress {
            bar,
            started: Instant::now(),
            drawn: false,
        }
    }

    pub fn inc(&mut self, n: u64) {
        self.bar.inc(n);
        self.show_if_long();
    }

    pub fn set_position(&mut self, pos: u64) {
        self.bar.set_position(pos);
        self.show_if_long();
    }

    pub fn set_message(&self, msg: String) {
        self.bar.set_message(msg);
    }

    fn show_if_long(&mut self) {
        if !self.drawn && self.started.elapsed() >= SHOW_AFTER && on_terminal() {
            self.drawn = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // The result lines follow: no bar left above them.
        self.bar.finish_and_clear();
    }
}
