//! Health endpoints for orchestrators (Kubernetes probes, load balancers): plain HTTP on a
//! port of its own, `GET /health` (the process is alive and serving: liveness) and
//! `GET /ready` (it can do its job — a worker connected to its scheduler: readiness). No
//! data is served here, and nothing is read beyond one request line and its headers.
//!
//! Hand-written on purpose: two fixed answers need no HTTP library; the dashboard (issue
//! 21) brings a real server, which can take these paths over.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Whether the process is ready (set by its owner as its state changes).
pub type Readiness = Arc<AtomicBool>;

/// Binds `host:port` (port 0: any free port) for [`serve`]; the port bound is returned.
async fn bind(host: &str, port: u16) -> Result<(TcpListener, u16)> {
    let listener = TcpListener::bind((host, port)).await.map_err(|e| {
        Error::Io(format!(
            "cannot listen for health checks on {host}:{port}: {e}"
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?
        .port();
    Ok((listener, port))
}

/// Binds `host:port` and answers health checks there from now on (on the current tokio
/// runtime), saying where on standard error; `who` names the process in that line.
pub async fn start(
    host: &str,
    port: u16,
    role: &'static str,
    who: &str,
    ready: Readiness,
) -> Result<()> {
    let (listener, port) = bind(host, port).await?;
    eprintln!("libdask {who}: health checks on http://{host}:{port}/health and /ready");
    tokio::spawn(serve(listener, role, ready));
    Ok(())
}

/// Answers health checks on `listener` until the runtime stops: `/health` 200 always,
/// `/ready` 200 while `ready` is set (503 otherwise), anything else 404.
pub async fn serve(listener: TcpListener, role: &'static str, ready: Readiness) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: try again shortly rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let ready = ready.clone();
        tokio::spawn(async move {
            // A request line and headers fit in 4 KiB; a client slower than 5 s is dropped.
            let mut buf = [0u8; 4096];
            let mut n = 0;
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while n < buf.len() {
                    match stream.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let answer = response(&buf[..n], role, ready.load(Ordering::SeqCst));
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// The whole HTTP response to `request`.
fn response(request: &[u8], role: &str, ready: bool) -> String {
    let line = request.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET" | "HEAD", "/health") => ("200 OK", format!("ok: {role} alive\n")),
        ("GET" | "HEAD", "/ready") if ready => ("200 OK", format!("ok: {role} ready\n")),
        ("GET" | "HEAD", "/ready") => (
            "503 Service Unavailable",
            format!("not ready: {role} not connected\n"),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", "not found: /health or /ready\n".into()),
        _ => ("405 Method Not Allowed", "GET only\n".into()),
    };
    let body = if method == "HEAD" {
        String::new()
    } else {
        body
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::response;

    #[test]
    fn paths_and_readiness_give_their_status() {
        let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(response(get("/health").as_bytes(), "worker", false).starts_with("HTTP/1.1 200"));
        assert!(response(get("/ready").as_bytes(), "worker", true).starts_with("HTTP/1.1 200"));
        assert!(response(get("/ready").as_bytes(), "worker", false).starts_with("HTTP/1.1 503"));
        assert!(response(get("/x").as_bytes(), "worker", true).starts_with("HTTP/1.1 404"));
        assert!(
            response(b"POST /health HTTP/1.1\r\n\r\n", "worker", true).starts_with("HTTP/1.1 405")
        );
        assert!(response(b"", "worker", true).starts_with("HTTP/1.1 405"));
        let head = response(b"HEAD /health HTTP/1.1\r\n\r\n", "scheduler", true);
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 0"));
    }
}
