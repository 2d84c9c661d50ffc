//! Connections: addresses (`tcp://host:port`, `tls://host:port`), connecting and accepting
//! with the handshake (role and protocol version both ways), and one message at a time over
//! the stream. TLS, when the address asks for it, wraps the stream before the handshake
//! (`tls.rs`); everything above sees the same `Conn`.

use super::msg::{read_message, write_message, Limits, Message, Msg, Role, PROTOCOL_VERSION};
use super::tls::Security;
use crate::error::{Error, Result};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long a handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the answer to a request (data from a worker) may take to start: a peer whose
/// link was cut sends nothing, and waiting on it would hold a task (or a client) for ever.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

pub type BoxRead = Box<dyn AsyncRead + Unpin + Send>;
pub type BoxWrite = Box<dyn AsyncWrite + Unpin + Send>;

/// Reads through a buffer: a message's prefix, lengths and header come in one system call
/// (large frames still go straight into their own memory).
fn buffered(r: BoxRead) -> BoxRead {
    Box::new(tokio::io::BufReader::with_capacity(64 << 10, r))
}

/// A parsed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Addr {
    /// True for an address on this machine's loopback (127.0.0.0/8, ::1, localhost).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The compression of messages towards this address under `setting`: `Auto` means none
    /// on loopback (copying is cheaper than compressing there) and lz4 where a sample shows
    /// it pays otherwise; `Lz4` and `None` are taken as they are.
    pub fn compression(
        &self,
        setting: crate::protocol::Compression,
    ) -> crate::protocol::Compression {
        use crate::protocol::Compression;
        match setting {
            Compression::Auto if self.is_loopback() => Compression::None,
            other => other,
        }
    }

    /// `tcp://host:port`, `tls://host:port`, or `host:port` (plain TCP).
    pub fn parse(s: &str) -> Result<Addr> {
        let (tls, rest) = if let Some(r) = s.strip_prefix("tls://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("tcp://") {
            (false, r)
        } else if s.contains("://") {
            return Err(Error::invalid(format!(
                "address '{s}': the scheme must be tcp:// or tls://"
            )));
        } else {
            (false, s)
        };
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| {
            Error::invalid(format!("address '{s}' has no port (expected host:port)"))
        })?;
        let port: u16 = port
            .parse()
            .map_err(|_| Error::invalid(format!("address '{s}': '{port}' is not a port")))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(Error::invalid(format!("address '{s}' has no host")));
        }
        Ok(Addr {
            tls,
            host: host.to_string(),
            port,
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "tls"
        } else {
            "tcp"
        }
    }

    pub fn socket(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.socket())
    }
}

/// One open connection, after the handshake.
pub struct Conn {
    pub r: BoxRead,
    pub w: BoxWrite,
    /// Who is at the other end (for messages and logs).
    pub peer: String,
    pub limits: Limits,
}

impl Conn {
    pub async fn send(&mut self, m: &Message) -> Result<()> {
        write_message(&mut self.w, m).await
    }

    /// The next message; an error when the peer closed.
    pub async fn recv(&mut self) -> Result<Message> {
        match read_message(&mut self.r, &self.limits).await? {
            Some(m) => Ok(m),
            None => Err(Error::Io(format!("{} closed the connection", self.peer))),
        }
    }

    /// Sends `m` and reads the answer.
    pub async fn ask(&mut self, m: &Message) -> Result<Message> {
        self.send(m).await?;
        let answer =
            super::msg::read_message_within(&mut self.r, &self.limits, Some(ANSWER_TIMEOUT));
        match answer.await? {
            Some(m) => Ok(m),
            None => Err(Error::Io(format!("{} closed the connection", self.peer))),
        }
    }
}

/// What the connecting side says about itself.
#[derive(Debug, Clone)]
pub struct Hello {
    pub role: Role,
    pub name: String,
    pub nthreads: u32,
    pub memory_limit: u64,
    pub data_addr: Option<String>,
}

/// Connects to `addr` as `hello.role`, expecting `expect` at the other end; returns the
/// connection and the peer's `Welcome`.
pub async fn connect(
    addr: &Addr,
    security: &Security,
    hello: &Hello,
    expect: Role,
    limits: Limits,
) -> Result<(Conn, Msg)> {
    if !addr.tls && security.require_encryption {
        return Err(Error::invalid(format!(
            "{addr}: encryption is required (require_encryption), use a tls:// address"
        )));
    }
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr.socket()))
        .await
        .map_err(|_| Error::Io(format!("connecting to {addr}: timed out")))?
        .map_err(|e| Error::Io(format!("connecting to {addr}: {e}")))?;
    let _ = stream.set_nodelay(true);
    let (r, w) = if addr.tls {
        super::tls::client_stream(stream, addr, security, hello.role, expect).await?
    } else {
        let (r, w) = stream.into_split();
        (Box::new(r) as BoxRead, Box::new(w) as BoxWrite)
    };
    let mut conn = Conn {
        r: buffered(r),
        w,
        peer: format!("{} at {addr}", expect.name()),
        limits,
    };
    let m = Message::new(Msg::Hello {
        role: hello.role,
        version: PROTOCOL_VERSION,
        name: hello.name.clone(),
        nthreads: hello.nthreads,
        memory_limit: hello.memory_limit,
        data_addr: hello.data_addr.clone(),
    });
    let answer = tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.ask(&m))
        .await
        .map_err(|_| Error::Io(format!("handshake with {addr} timed out")))?
        .map_err(|e| match e {
            Error::Io(t) if addr.tls && t.contains("alert") => {
                super::tls::explain_text(&t, &format!("{} at {addr}", expect.name()))
            }
            Error::Io(t) if !addr.tls && (t.contains("eof") || t.contains("closed")) => {
                Error::Io(format!(
                    "{addr} closed the connection during the handshake: is it a tls:// address? ({t})"
                ))
            }
            other => other,
        })?;
    match answer.msg {
        Msg::Welcome { version, .. } if version != PROTOCOL_VERSION => Err(Error::Io(format!(
            "{addr} speaks protocol version {version}, this process {PROTOCOL_VERSION}"
        ))),
        w @ Msg::Welcome { .. } => Ok((conn, w)),
        Msg::Refused { why } => Err(Error::Io(format!("{addr} refused the connection: {why}"))),
        other => Err(Error::Io(format!(
            "{addr} answered the handshake with {other:?}"
        ))),
    }
}

/// The local address this machine reaches `addr` from (what a worker advertises: the
/// interface the scheduler is reached through). Asks the routing table through a UDP socket,
/// which sends nothing, so it works before the scheduler listens.
pub async fn local_ip_towards(addr: &Addr) -> Result<std::net::IpAddr> {
    let target = tokio::net::lookup_host(addr.socket())
        .await
        .map_err(|e| Error::Io(format!("resolving {addr}: {e}")))?
        .next()
        .ok_or_else(|| Error::Io(format!("{addr} resolves to no address")))?;
    let any = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = std::net::UdpSocket::bind(any).map_err(|e| Error::Io(e.to_string()))?;
    sock.connect(target)
        .map_err(|e| Error::Io(format!("no route to {addr}: {e}")))?;
    Ok(sock
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?
        .ip())
}

/// Accepts the stream of a connection made to us: TLS when `tls`, then the peer's `Hello`
/// (checked: protocol version, and a role among `roles`). The caller answers with
/// `Welcome` (or `Refused`).
pub async fn accept(
    stream: TcpStream,
    tls: bool,
    security: &Security,
    me: Role,
    roles: &[Role],
    limits: Limits,
) -> Result<(Conn, Hello)> {
    let _ = stream.set_nodelay(true);
    let peer_addr = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let work = async {
        let (r, w, cert_role) = if tls {
            let (r, w, role) = super::tls::server_stream(stream, security, me).await?;
            (r, w, Some(role))
        } else {
            let (r, w) = stream.into_split();
            (Box::new(r) as BoxRead, Box::new(w) as BoxWrite, None)
        };
        let mut conn = Conn {
            r: buffered(r),
            w,
            peer: peer_addr.clone(),
            limits,
        };
        let first = conn.recv().await?;
        let refuse = |why: String| Message::new(Msg::Refused { why });
        match first.msg {
            Msg::Hello {
                role,
                version,
                name,
                nthreads,
                memory_limit,
                data_addr,
            } => {
                if version != PROTOCOL_VERSION {
                    let why = format!(
                        "protocol version {version} is not this {}'s {PROTOCOL_VERSION}",
                        me.name()
                    );
                    let _ = conn.send(&refuse(why.clone())).await;
                    return Err(Error::Io(format!("{peer_addr}: {why}")));
                }
                if !roles.contains(&role) {
                    let why = format!("a {} does not connect to a {}", role.name(), me.name());
                    let _ = conn.send(&refuse(why.clone())).await;
                    return Err(Error::Io(format!("{peer_addr}: {why}")));
                }
                if let Some(cr) = cert_role {
                    if cr != role {
                        let why = format!(
                            "the peer says it is a {} but its certificate is a {}'s",
                            role.name(),
                            cr.name()
                        );
                        let _ = conn.send(&refuse(why.clone())).await;
                        return Err(Error::Io(format!("{peer_addr}: {why}")));
                    }
                }
                conn.peer = format!("{} {name} ({peer_addr})", role.name());
                Ok((
                    conn,
                    Hello {
                        role,
                        name,
                        nthreads,
                        memory_limit,
                        data_addr,
                    },
                ))
            }
            other => Err(Error::Io(format!(
                "{peer_addr}: the first message was not a handshake but {other:?}"
            ))),
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, work)
        .await
        .map_err(|_| Error::Io(format!("{peer_addr}: handshake timed out")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        let a = Addr::parse("tls://10.0.0.1:8786").unwrap();
        assert!(a.tls && a.host == "10.0.0.1" && a.port == 8786);
        let b = Addr::parse("localhost:1").unwrap();
        assert!(!b.tls && b.socket() == "localhost:1");
        let c = Addr::parse("tcp://[::1]:99").unwrap();
        assert_eq!(c.socket(), "[::1]:99");
        for bad in ["http://x:1", "x", "tcp://:5", "tls://x:port", "x:70000"] {
            assert!(Addr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_compression_is_off_on_loopback_only() {
        use crate::protocol::Compression::{Auto, Lz4, None};
        for local in [
            "tcp://127.0.0.1:1",
            "tls://localhost:1",
            "tcp://[::1]:1",
            "127.3.4.5:1",
        ] {
            let a = Addr::parse(local).unwrap();
            assert_eq!(a.compression(Auto), None, "{local}");
            assert_eq!(a.compression(Lz4), Lz4, "{local}");
        }
        let far = Addr::parse("tcp://10.1.2.3:1").unwrap();
        assert_eq!(far.compression(Auto), Auto);
        assert_eq!(far.compression(None), None);
    }
}
