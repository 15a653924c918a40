//! A minimal HTTP/1.1 server for the JWKS and OpenID configuration documents.
//!
//! Hand-written on `std::net` on purpose: it serves two static GET documents to the local
//! stack, and pulling an async HTTP server into every test binary would cost more than these
//! hundred lines. One thread per connection, one request per connection (`Connection: close`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const MAX_HEAD_BYTES: usize = 16 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `jwks` on `127.0.0.1:port`:
/// - `GET /discovery/v2.0/keys` → the JWKS;
/// - `GET /{tenant}/v2.0/.well-known/openid-configuration` → `{"issuer","jwks_uri"}`;
/// - anything else → 404 (405 for other methods on those paths).
///
/// Binding errors are returned; after that the server runs until the process ends.
pub fn serve_jwks(port: u16, jwks: serde_json::Value) -> std::io::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let jwks = Arc::new(jwks.to_string());
    std::thread::Builder::new()
        .name(format!("dev-issuer-{port}"))
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let jwks = Arc::clone(&jwks);
                // A connection that cannot get a thread is dropped; the client retries.
                let _ = std::thread::Builder::new()
                    .name("dev-issuer-conn".into())
                    .spawn(move || {
                        let _ = handle(stream, port, &jwks);
                    });
            }
        })
}

fn handle(mut stream: TcpStream, port: u16, jwks: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let response = match read_head(&mut stream)? {
        Some(head) => respond(&head, port, jwks),
        None => Response::status(400, "Bad Request"),
    };
    stream.write_all(&response.into_bytes())?;
    stream.flush()
}

/// Reads up to the blank line ending the request head; `None` if it is malformed or too long.
fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&head, b"\r\n\r\n") {
            head.truncate(end);
            return Ok(String::from_utf8(head).ok());
        }
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn respond(head: &str, port: u16, jwks: &str) -> Response {
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Response::status(400, "Bad Request");
    };
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let body = if path == "/discovery/v2.0/keys" {
        Some(jwks.to_owned())
    } else {
        openid_configuration(path, port)
    };
    match body {
        None => Response::status(404, "Not Found"),
        Some(_) if method != "GET" && method != "HEAD" => {
            Response::status(405, "Method Not Allowed")
        }
        Some(body) => Response {
            status: 200,
            reason: "OK",
            body,
            head_only: method == "HEAD",
        },
    }
}

fn openid_configuration(path: &str, port: u16) -> Option<String> {
    let tenant = path
        .strip_prefix('/')?
        .strip_suffix("/v2.0/.well-known/openid-configuration")?;
    if tenant.is_empty() || tenant.contains('/') {
        return None;
    }
    let document = serde_json::json!({
        "issuer": format!("http://127.0.0.1:{port}/{tenant}/v2.0"),
        "jwks_uri": crate::jwks_url(port),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    Some(document.to_string())
}

struct Response {
    status: u16,
    reason: &'static str,
    body: String,
    head_only: bool,
}

impl Response {
    fn status(status: u16, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            body: format!("{{\"status\":{status},\"title\":\"{reason}\"}}"),
            head_only: false,
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason,
            self.body.len()
        )
        .into_bytes();
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(port: u16, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(raw).unwrap();
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }

    fn free_port() -> u16 {
        TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn serves_documents_and_survives_garbage() {
        let port = free_port();
        let jwks = serde_json::json!({"keys": [{"kid": "k1"}]});
        serve_jwks(port, jwks.clone()).unwrap();

        let ok = request(
            port,
            b"GET /discovery/v2.0/keys HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        let body = ok.split("\r\n\r\n").nth(1).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
            jwks
        );

        let config = request(
            port,
            b"GET /abc/v2.0/.well-known/openid-configuration?x=1 HTTP/1.1\r\n\r\n",
        );
        let body: serde_json::Value =
            serde_json::from_str(config.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["issuer"], format!("http://127.0.0.1:{port}/abc/v2.0"));
        assert_eq!(body["jwks_uri"], crate::jwks_url(port));

        assert!(request(port, b"GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(request(port, b"POST /discovery/v2.0/keys HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 405"));
        assert!(request(port, b"\xff\xfe\r\n\r\n").starts_with("HTTP/1.1 400"));
        assert!(request(port, b"GET").starts_with("HTTP/1.1 400"));
        // Too long a head: answered 400 or reset, depending on timing; the server lives on.
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(&[b'a'; 40_000]);
            let _ = stream.read_to_string(&mut String::new());
        }
        // Still serving after all that.
        assert!(request(port, b"GET /discovery/v2.0/keys HTTP/1.0\r\n\r\n").contains("k1"));
    }

    #[test]
    fn a_taken_port_is_an_error() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(serve_jwks(port, serde_json::json!({})).is_err());
    }
}
