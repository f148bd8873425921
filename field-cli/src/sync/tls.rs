//! Which servers `sigap` talks to, and how it trusts them: https with the
//! system's certificate authorities and, for an office that runs its own,
//! the CA given to `sigap init --ca-cert` (or `SIGAP_CA_CERT`). Plain
//! http:// carries the token and personal data in clear, so it is refused
//! to anything but this laptop unless `--insecure` says so, and then it
//! is said loudly at every connection.

use std::net::IpAddr;

use reqwest::Url;
use reqwest::blocking::ClientBuilder;

use crate::error::{CliError, Result};
use crate::i18n::t;
use crate::store::Device;

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, ::1).
pub fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Refuses plain http:// to another machine unless `insecure`.
pub fn check_url(text: &str, insecure: bool) -> Result<()> {
    let url = Url::parse(text.trim())
        .map_err(|e| CliError::Input(t!("init-bad-server", url = text, detail = e)))?;
    if url.scheme() == "http" && !is_loopback(&url) && !insecure {
        return Err(CliError::Input(t!("tls-plain-http", url = text)));
    }
    Ok(())
}

/// The CA certificates in the PEM file at `path`.
pub fn load_ca(path: &str) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path)
        .map_err(|e| CliError::Input(t!("tls-ca-unreadable", file = path, detail = e)))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| CliError::Input(t!("tls-ca-not-pem", file = path, detail = e)))?;
    if certs.is_empty() {
        return Err(CliError::Input(t!(
            "tls-ca-not-pem",
            file = path,
            detail = "no CERTIFICATE block"
        )));
    }
    Ok(certs)
}

/// The HTTP client settings for `device`'s server: its CA, if any, and
/// the check of plain http (warned about when allowed).
pub fn configure(builder: ClientBuilder, device: &Device, base: &str) -> Result<ClientBuilder> {
    check_url(base, device.insecure)?;
    if let Ok(url) = Url::parse(base)
        && url.scheme() == "http"
        && !is_loopback(&url)
    {
        eprintln!("{}", t!("tls-insecure-warning", url = base));
    }
    let ca = std::env::var("SIGAP_CA_CERT")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .or_else(|| device.ca_cert.clone());
    let mut builder = builder;
    if let Some(path) = ca {
        for cert in load_ca(&path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}

/// Whether an error chain is a failed certificate check (not worth
/// retrying: the next attempt fails the same way).
pub fn is_certificate_error(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    lower.contains("certificate") || lower.contains("unknownissuer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_laptop_unless_insecure() {
        for ok in [
            "https://sigap.example",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for refused in ["http://10.1.2.3:8080", "http://sigap.kantor-solo:8080"] {
            assert!(check_url(refused, false).is_err(), "{refused}");
            assert!(check_url(refused, true).is_ok(), "{refused}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "hello").unwrap_or_else(|e| panic!("{e}"));
        assert!(load_ca(&f.to_string_lossy()).is_err());
        assert!(load_ca("/no/such/file.pem").is_err());
    }
}
