//! Logging setup and NIK masking for log lines.

use sigap_shared::mask_nik;

/// Masks every run of ten or more digits (a NIK, perhaps inside a path or
/// a message) as `3372**********01`.
pub fn mask_niks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 10 {
            out.push_str(&mask_nik(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), and logs
/// panics through [`install_panic_hook`].
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    install_panic_hook();
}

/// Replaces the default panic message on stderr with one log line that
/// gives where the panic happened but not its message: a message may
/// have been formatted from a record (a name, a phone number), and the
/// location is enough to find the fault.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown place".into());
        tracing::error!(
            %location,
            "panic (its message is not logged: it may hold personal data)"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn niks_in_paths_are_masked() {
        assert_eq!(
            mask_niks("/api/v1/persons/3372011203850001?history=true"),
            "/api/v1/persons/3372**********01?history=true"
        );
        assert_eq!(
            mask_niks("/api/v1/coverage?area=33.72.01"),
            "/api/v1/coverage?area=33.72.01"
        );
    }
}
