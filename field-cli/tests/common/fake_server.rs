//! A tiny HTTP server answering canned responses, for sync client tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Handler = Box<dyn FnMut(&Request) -> (u16, String) + Send>;
/// A handler whose answers may carry headers of their own.
pub type HeaderHandler = Box<dyn FnMut(&Request) -> (u16, Vec<(String, String)>, String) + Send>;

pub struct FakeServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    /// Seconds added to the real time in the `Date` header of every answer:
    /// the server's clock as the client sees it.
    pub clock_offset_secs: Arc<AtomicI64>,
}

/// An HTTP date (IMF-fixdate), as servers send it in `Date`.
pub fn http_date(t: time::OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    ))
    .unwrap()
}

impl FakeServer {
    pub fn start(mut handler: Handler) -> FakeServer {
        FakeServer::start_with_headers(Box::new(move |req: &Request| {
            let (status, answer) = handler(req);
            (status, Vec::new(), answer)
        }))
    }

    pub fn start_with_headers(mut handler: HeaderHandler) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let clock_offset_secs = Arc::new(AtomicI64::new(0));
        let offset = clock_offset_secs.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut headers = Vec::new();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap();
                        }
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                let req = Request {
                    method,
                    path,
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let (status, extra, answer) = handler(&req);
                log.lock().unwrap().push(req);
                if status == 0 {
                    // Drop the connection without answering.
                    continue;
                }
                let now = time::OffsetDateTime::now_utc()
                    + time::Duration::seconds(offset.load(Ordering::SeqCst));
                let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nDate: {}\r\nx-sigap-protocol: {}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    http_date(now),
                    sigap_shared::PROTOCOL_VERSION,
                    answer.len()
                );
                let _ = stream.write_all(resp.as_bytes());
            }
        });
        FakeServer {
            url,
            requests,
            clock_offset_secs,
        }
    }

    /// Sets the server's clock `secs` seconds away from the real time.
    pub fn set_clock_offset(&self, secs: i64) {
        self.clock_offset_secs.store(secs, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}
