//! The HTTP side of sync: one blocking client that puts the protocol
//! version and the token on every request, retries network errors and 5xx
//! with exponential backoff and full jitter, and turns every refusal into a
//! message that says what to do.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use reqwest::blocking::{Client as Http, RequestBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sigap_shared::ReplicaKey;
use sigap_shared::visit_wire::{VisitsRequest, VisitsResponse};
use sigap_shared::wire::{
    DeviceStatus, ErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION, PULL_NEXT_HEADER, PushResponse,
    ReplicaKeyResponse, parse_pull_next,
};
use uuid::Uuid;

use crate::error::{CliError, Result};
use crate::i18n::t;
use crate::store::Device;

/// One change the server holds from this device.
#[derive(Debug, Clone, Deserialize)]
pub struct HeldChange {
    pub device_seq: u64,
    pub id: Uuid,
}

/// A page of `GET /api/v1/sync/device/{id}/changes`.
#[derive(Debug, Clone, Deserialize)]
pub struct HeldPage {
    pub changes: Vec<HeldChange>,
    #[serde(default)]
    pub has_more: bool,
}

/// A successful answer, read whole but not decoded.
pub struct Answer {
    body: bytes::Bytes,
    /// The protocol the server said it speaks.
    proto: Option<u32>,
    /// A pull page's next cursor and whether more follow, from its
    /// header (`wire::PULL_NEXT_HEADER`); none from a server without it.
    pub pull_next: Option<(u64, bool)>,
}

pub struct Client {
    http: Http,
    base: String,
    token: String,
    attempts: u32,
    base_delay_ms: u64,
    /// The server's clock as last read from an answer's `Date` header:
    /// (server's Unix milliseconds, this laptop's at the same moment).
    clock: Mutex<Option<(i64, i64)>>,
}

/// Reads an HTTP date (`Date` header, IMF-fixdate: `Sun, 06 Nov 1994
/// 08:49:37 GMT`) as Unix milliseconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(text.trim(), format).ok()?;
    let millis = t.assume_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis).ok()
}

fn local_millis() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Client {
    pub fn new(device: &Device) -> Result<Client> {
        let base = device
            .server_url
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CliError::Input(t!("client-no-server")))?;
        let token = std::env::var("SIGAP_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| device.token.clone())
            .ok_or_else(|| CliError::Input(t!("client-no-token")))?;
        let builder = Http::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("sigap/", env!("CARGO_PKG_VERSION")));
        let http = super::tls::configure(builder, device, &base)?
            .build()
            .map_err(|e| CliError::Local(t!("client-no-http", detail = e)))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            attempts: u32::try_from(env_num("SIGAP_RETRY_LIMIT", 5))
                .unwrap_or(5)
                .max(1),
            base_delay_ms: env_num("SIGAP_RETRY_BASE_MS", 500),
            clock: Mutex::new(None),
        })
    }

    /// A client for one quick, optional question (`sigap init` enrolling
    /// the device): one attempt, short timeouts, so that an agent setting
    /// up offline waits seconds, not minutes.
    pub fn quick(device: &Device) -> Result<Client> {
        let mut c = Client::new(device)?;
        c.attempts = 1;
        let builder = Http::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("sigap/", env!("CARGO_PKG_VERSION")));
        let base = c.base.clone();
        c.http = super::tls::configure(builder, device, &base)?
            .build()
            .map_err(|e| CliError::Local(t!("client-no-http", detail = e)))?;
        Ok(c)
    }

    /// How far this laptop's clock is ahead of the server's (negative:
    /// behind), in milliseconds, by the last answer that carried the
    /// server's time; `None` before one did. Good to about a second (the
    /// header's resolution) plus the answer's time on the network.
    pub fn clock_skew_ms(&self) -> Option<i64> {
        let reading = *self.clock.lock().ok()?;
        reading.map(|(server, local)| local - server)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Pushes a `PushRequest` already serialised (see `push::page_body`).
    pub fn push_body(&self, body: &[u8]) -> Result<PushResponse> {
        let url = format!("{}/api/v1/sync/push", self.base);
        self.send(&t!("request-push"), |h| {
            h.post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec())
        })
    }

    /// A page of the feed (a `PullPage`) as the server sent it, not yet
    /// decoded: its [`Answer::pull_next`] says where the next page
    /// starts. Persons only `device` has written are left out (this
    /// device has them already).
    pub fn pull_answer(&self, cursor: u64, limit: usize, device: Option<Uuid>) -> Result<Answer> {
        let mut url = format!(
            "{}/api/v1/sync/pull?cursor={cursor}&limit={limit}",
            self.base
        );
        if let Some(d) = device {
            url.push_str(&format!("&device={d}"));
        }
        self.fetch(&t!("request-pull"), |h| h.get(&url), false)?
            .ok_or_else(|| {
                CliError::Refused(t!(
                    "client-no-endpoint",
                    server = self.base,
                    what = t!("request-pull")
                ))
            })
    }

    /// Sends a batch of visits (`POST /api/v1/visits`); `None` from an
    /// older server that does not take visits.
    pub fn push_visits(&self, req: &VisitsRequest) -> Result<Option<VisitsResponse>> {
        let url = format!("{}/api/v1/visits", self.base);
        let body = serde_json::to_vec(req)?;
        self.send_maybe(
            &t!("request-visits"),
            |h| {
                h.post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            },
            true,
        )
    }

    /// A GET of `path_and_query` (starting with `/api/v1/`), its JSON
    /// answer read as `T`.
    pub fn get_json<T: DeserializeOwned>(&self, what: &str, path_and_query: &str) -> Result<T> {
        let url = format!("{}{path_and_query}", self.base);
        self.send(what, |h| h.get(&url))
    }

    /// A POST of `body` as JSON to `path`, its JSON answer read as `T`.
    pub fn post_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let body = serde_json::to_vec(body)?;
        self.send(what, |h| {
            h.post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
    }

    pub fn device_status(&self, device: Uuid) -> Result<DeviceStatus> {
        let url = format!("{}/api/v1/sync/device/{device}", self.base);
        self.send(&t!("request-device-status"), |h| h.get(&url))
    }

    /// The deployment's replica key, given to this device's own token.
    pub fn replica_key(&self, device: Uuid) -> Result<ReplicaKey> {
        let url = format!("{}/api/v1/sync/device/{device}/key", self.base);
        let answer: ReplicaKeyResponse = self.send(&t!("request-replica-key"), |h| h.get(&url))?;
        ReplicaKey::from_hex(&answer.key)
            .map_err(|e| CliError::Refused(t!("client-bad-replica-key", detail = e)))
    }

    pub fn device_changes(&self, device: Uuid, after_seq: u64, limit: usize) -> Result<HeldPage> {
        let url = format!(
            "{}/api/v1/sync/device/{device}/changes?after_seq={after_seq}&limit={limit}",
            self.base
        );
        self.send(&t!("request-device-changes"), |h| h.get(&url))
    }

    fn delay(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay_ms
            .saturating_mul(1u64 << attempt.min(16))
            .min(30_000);
        Duration::from_millis(rand::rng().random_range(0..=cap))
    }

    fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&Http) -> RequestBuilder,
    ) -> Result<T> {
        self.send_maybe(what, build, false)?.ok_or_else(|| {
            CliError::Refused(t!("client-no-endpoint", server = self.base, what = what))
        })
    }

    /// As `send`, but with `missing_ok` a `404` (an older server without
    /// the endpoint) is `None` instead of an error.
    fn send_maybe<T: DeserializeOwned>(
        &self,
        what: &str,
        build: impl Fn(&Http) -> RequestBuilder,
        missing_ok: bool,
    ) -> Result<Option<T>> {
        match self.fetch(what, build, missing_ok)? {
            Some(answer) => self.decode(what, &answer).map(Some),
            None => Ok(None),
        }
    }

    /// Reads a successful answer's JSON body as `T`.
    pub fn decode<T: DeserializeOwned>(&self, what: &str, answer: &Answer) -> Result<T> {
        serde_json::from_slice(&answer.body).map_err(|e| self.undecodable(what, answer.proto, &e))
    }

    /// Sends a request until a successful answer's body is read whole
    /// (retrying what a retry may mend), without decoding it.
    fn fetch(
        &self,
        what: &str,
        build: impl Fn(&Http) -> RequestBuilder,
        missing_ok: bool,
    ) -> Result<Option<Answer>> {
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                std::thread::sleep(self.delay(attempt - 1));
            }
            let sent = build(&self.http)
                .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                .bearer_auth(&self.token)
                .send();
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = error_chain(&e);
                    if super::tls::is_certificate_error(&last) {
                        return Err(CliError::Network(t!(
                            "tls-failed",
                            server = self.base,
                            detail = last
                        )));
                    }
                    continue;
                }
            };
            let status = resp.status();
            if let Some(server) = resp
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_http_date)
                && let Ok(mut clock) = self.clock.lock()
            {
                *clock = Some((server, local_millis()));
            }
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
            };
            let proto = header(PROTOCOL_HEADER).and_then(|v| v.parse::<u32>().ok());
            let pull_next = header(PULL_NEXT_HEADER).and_then(parse_pull_next);
            // Bytes, not text: a pulled page is megabytes of JSON, which
            // serde_json checks as it reads (reading it as text first
            // cost a twentieth of a pull's CPU).
            let body = match resp.bytes() {
                Ok(b) => b,
                Err(e) => {
                    last = t!(
                        "client-reading-answer",
                        what = what,
                        detail = error_chain(&e)
                    );
                    continue;
                }
            };
            if status.is_success() {
                return Ok(Some(Answer {
                    body,
                    proto,
                    pull_next,
                }));
            }
            if missing_ok && status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let body = String::from_utf8_lossy(&body);
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                last = describe(status, &body);
                continue;
            }
            return Err(refusal(status, &body, proto));
        }
        Err(CliError::Network(t!(
            "client-unreachable",
            server = self.base,
            detail = last,
            attempts = self.attempts
        )))
    }

    fn undecodable(&self, what: &str, proto: Option<u32>, e: &serde_json::Error) -> CliError {
        match proto {
            Some(p) if p > PROTOCOL_VERSION => CliError::Refused(t!(
                "client-server-newer",
                server_protocol = p,
                protocol = PROTOCOL_VERSION
            )),
            Some(p) if p < PROTOCOL_VERSION => CliError::Refused(t!(
                "client-server-older",
                server_protocol = p,
                protocol = PROTOCOL_VERSION
            )),
            _ => CliError::Refused(t!(
                "client-unreadable-answer",
                server = self.base,
                what = what,
                detail = e
            )),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        src = s.source();
    }
    text
}

fn parse_error(body: &str) -> Option<(String, String)> {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| (b.error.code, b.error.message))
}

fn describe(status: StatusCode, body: &str) -> String {
    match parse_error(body) {
        Some((code, message)) => format!("HTTP {status} {code}: {message}"),
        None => {
            let snippet: String = body.chars().take(200).collect();
            format!(
                "HTTP {status}{}",
                if snippet.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", snippet.trim())
                }
            )
        }
    }
}

/// A non-retryable answer: say what happened and what to do.
fn refusal(status: StatusCode, body: &str, proto: Option<u32>) -> CliError {
    let parsed = parse_error(body);
    let code = parsed.as_ref().map(|p| p.0.as_str()).unwrap_or("");
    let detail = describe(status, body);
    let msg = match (status.as_u16(), code) {
        (_, "protocol_too_new") => t!("client-refused-too-new", detail = detail),
        (_, "protocol_too_old") | (426, _) => t!("client-refused-too-old", detail = detail),
        (401, _) => t!("client-refused-token", detail = detail),
        // A device belongs to the token that first used it.
        (_, "device_not_yours") => t!("client-refused-device", detail = detail),
        (403, _) => t!("client-refused-forbidden", detail = detail),
        _ => match proto {
            Some(p) if p != PROTOCOL_VERSION => t!(
                "client-refused-protocol",
                server_protocol = p,
                protocol = PROTOCOL_VERSION,
                detail = detail
            ),
            _ => t!("client-refused", detail = detail),
        },
    };
    CliError::Refused(msg)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_http_date_reads_as_unix_milliseconds() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(""), None);
    }
}
