//! Security of a cluster: mutual TLS against one CA per cluster, a certificate per role.
//!
//! The role travels in the certificate as a subject alternative name, `<role>.libdask.invalid`
//! (`.invalid` is reserved: it can never be a real host). A client connecting to a scheduler
//! verifies the scheduler's certificate for the name `scheduler.libdask.invalid` — the chain
//! to the cluster's CA and the role in one standard check — and the accepting side reads
//! the role from the verified client certificate and compares it with the handshake's. Host
//! names are not checked (as in Dask: clusters move between hosts; the CA is the trust).
//!
//! One crypto provider, chosen explicitly: ring.

use super::conn::{Addr, BoxRead, BoxWrite};
use super::msg::Role;
use crate::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;

const ROLES: [Role; 3] = [Role::Client, Role::Scheduler, Role::Worker];

fn role_name(role: Role) -> String {
    format!("{}.libdask.invalid", role.name())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// PEM text of a CA, a certificate and its key.
#[derive(Clone)]
pub struct Credentials {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// How a process secures its connections: its credentials (for `tls://`), and whether plain
/// `tcp://` is refused.
#[derive(Clone, Default)]
pub struct Security {
    pub credentials: Option<Credentials>,
    pub require_encryption: bool,
    configs: Arc<OnceLock<std::result::Result<Configs, String>>>,
}

#[derive(Clone)]
struct Configs {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("tls", &self.credentials.is_some())
            .field("require_encryption", &self.require_encryption)
            .finish()
    }
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Io(format!("cannot read the {what} '{}': {e}", path.display())))
}

impl Security {
    /// Credentials from PEM files: the cluster's CA, this process's certificate and key.
    pub fn from_files(ca: &Path, cert: &Path, key: &Path) -> Result<Security> {
        Ok(Security::with_credentials(Credentials {
            ca_pem: read_text(ca, "CA certificate")?,
            cert_pem: read_text(cert, "certificate")?,
            key_pem: read_text(key, "private key")?,
        }))
    }

    pub fn with_credentials(c: Credentials) -> Security {
        Security {
            credentials: Some(c),
            require_encryption: false,
            configs: Arc::default(),
        }
    }

    /// No TLS (plain `tcp://` only).
    pub fn plain() -> Security {
        Security::default()
    }

    fn configs(&self) -> Result<Configs> {
        let built = self
            .configs
            .get_or_init(|| self.build().map_err(|e| e.to_string()));
        built.clone().map_err(Error::invalid)
    }

    fn build(&self) -> Result<Configs> {
        let c = self.credentials.as_ref().ok_or_else(|| {
            Error::invalid(
                "a tls:// address needs TLS credentials (a CA, a certificate and its key)",
            )
        })?;
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Error::invalid(format!("the {what} is not valid PEM: {e}"))
        };
        let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(c.ca_pem.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| bad("CA certificate", &e))?;
        if cas.is_empty() {
            return Err(Error::invalid("the CA file holds no certificate"));
        }
        let mut roots = rustls::RootCertStore::empty();
        for ca in cas {
            roots
                .add(ca)
                .map_err(|e| Error::invalid(format!("the CA certificate is not usable: {e}")))?;
        }
        let roots = Arc::new(roots);
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(c.cert_pem.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad("certificate", &e))?;
        if chain.is_empty() {
            return Err(Error::invalid("the certificate file holds no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes())
            .map_err(|e| bad("private key", &e))?;
        let tls_err = |e: rustls::Error| Error::invalid(format!("TLS setup: {e}"));
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
                .build()
                .map_err(|e| Error::invalid(format!("TLS setup: {e}")))?;
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(tls_err)?;
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(tls_err)?;
        Ok(Configs {
            client: Arc::new(client),
            server: Arc::new(server),
        })
    }

    /// A fresh CA and one certificate per role, in memory (tests, local clusters): the
    /// credentials of each role.
    pub fn temporary() -> Result<TemporaryCerts> {
        TemporaryCerts::new(false)
    }
}

/// A CA and certificates for the three roles.
#[derive(Clone)]
pub struct TemporaryCerts {
    pub ca_pem: String,
    pub client: Credentials,
    pub scheduler: Credentials,
    pub worker: Credentials,
}

impl TemporaryCerts {
    /// `expired`: every role certificate expired long ago (tests of the error).
    pub fn new(expired: bool) -> Result<TemporaryCerts> {
        let err = |e: rcgen::Error| Error::Io(format!("cannot make certificates: {e}"));
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "libdask cluster CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().map_err(err)?;
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;
        let ca_pem = ca.pem();
        let make = |role: Role| -> Result<Credentials> {
            let mut p = rcgen::CertificateParams::new(vec![role_name(role)]).map_err(err)?;
            p.distinguished_name.push(
                rcgen::DnType::CommonName,
                format!("libdask {}", role.name()),
            );
            p.extended_key_usages = vec![
                rcgen::ExtendedKeyUsagePurpose::ServerAuth,
                rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            ];
            if expired {
                p.not_before = rcgen::date_time_ymd(2000, 1, 1);
                p.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            let key = rcgen::KeyPair::generate().map_err(err)?;
            let cert = p.signed_by(&key, &ca).map_err(err)?;
            Ok(Credentials {
                ca_pem: ca_pem.clone(),
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            })
        };
        Ok(TemporaryCerts {
            client: make(Role::Client)?,
            scheduler: make(Role::Scheduler)?,
            worker: make(Role::Worker)?,
            ca_pem,
        })
    }

    pub fn security(&self, role: Role) -> Security {
        Security::with_credentials(match role {
            Role::Client => self.client.clone(),
            Role::Scheduler => self.scheduler.clone(),
            Role::Worker => self.worker.clone(),
        })
    }

    /// Writes `ca.pem` and `<role>.pem` / `<role>-key.pem` for each role into `dir` (made
    /// 0700; the files 0600): what `libdask certs --out DIR` does.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut files = vec![("ca.pem".to_string(), self.ca_pem.clone())];
        for (role, c) in [
            (Role::Client, &self.client),
            (Role::Scheduler, &self.scheduler),
            (Role::Worker, &self.worker),
        ] {
            files.push((format!("{}.pem", role.name()), c.cert_pem.clone()));
            files.push((format!("{}-key.pem", role.name()), c.key_pem.clone()));
        }
        write_private(dir, &files)
    }
}

impl Credentials {
    /// Writes `ca.pem`, `<role>.pem` and `<role>-key.pem` into `dir` (made 0700; the files
    /// 0600), as `libdask certs` names them; their paths, in that order.
    pub fn write(&self, dir: &Path, role: Role) -> Result<[PathBuf; 3]> {
        let files = [
            ("ca.pem".to_string(), self.ca_pem.clone()),
            (format!("{}.pem", role.name()), self.cert_pem.clone()),
            (format!("{}-key.pem", role.name()), self.key_pem.clone()),
        ];
        let [ca, cert, key]: [PathBuf; 3] = write_private(dir, &files)?
            .try_into()
            .map_err(|_| Error::Io("three files written, not three paths".into()))?;
        Ok([ca, cert, key])
    }
}

/// Writes `(name, text)` files readable by this user only into `dir`, made 0700.
fn write_private(dir: &Path, files: &[(String, String)]) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", dir.display()));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

/// Explains a TLS failure in one line.
fn explain(e: &std::io::Error, peer: &str) -> Error {
    explain_text(&e.to_string(), peer)
}

/// Explains a TLS failure from its text (also one that surfaces as the first read after the
/// handshake: TLS 1.3 clients learn of a refused certificate only then).
pub(crate) fn explain_text(text: &str, peer: &str) -> Error {
    let text = text.to_string();
    let why = if text.contains("alert: CertificateExpired") {
        "the peer refused this side's certificate: it has expired".to_string()
    } else if text.contains("received fatal alert") {
        "the peer refused this side's certificate (it trusts another CA, or this certificate expired)"
            .to_string()
    } else if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        "the peer's certificate is not signed by this cluster's CA (unknown CA)".to_string()
    } else if text.contains("Expired") || text.contains("expired") {
        "the peer's certificate has expired".to_string()
    } else if text.contains("handshake eof") {
        "the peer closed the connection during the TLS handshake".to_string()
    } else if text.contains("NotValidForName") {
        "the peer's certificate is for another role".to_string()
    } else if text.contains("CorruptMessage")
        || text.contains("InvalidContentType")
        || text.contains("InvalidMessage")
    {
        "the peer does not speak TLS (a plaintext peer on a TLS port?)".to_string()
    } else if text.contains("NoCertificatesPresented") || text.contains("CertificateRequired") {
        "the peer presented no certificate".to_string()
    } else {
        text.clone()
    };
    Error::Io(format!("TLS with {peer}: {why} ({text})"))
}

/// The TLS client side of a connection to `addr`, which must be a `expect`.
pub(crate) async fn client_stream(
    stream: TcpStream,
    addr: &Addr,
    security: &Security,
    _me: Role,
    expect: Role,
) -> Result<(BoxRead, BoxWrite)> {
    let configs = security.configs()?;
    let connector = tokio_rustls::TlsConnector::from(configs.client);
    let name = ServerName::try_from(role_name(expect)).expect("a valid DNS name");
    let tls = connector
        .connect(name, stream)
        .await
        .map_err(|e| explain(&e, &format!("{} at {addr}", expect.name())))?;
    let (r, w) = tokio::io::split(tls);
    Ok((Box::new(r), Box::new(w)))
}

/// The TLS server side of an accepted connection: the stream and the role the verified
/// client certificate carries.
pub(crate) async fn server_stream(
    stream: TcpStream,
    security: &Security,
    _me: Role,
) -> Result<(BoxRead, BoxWrite, Role)> {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let configs = security.configs()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(configs.server);
    let tls = acceptor
        .accept(stream)
        .await
        .map_err(|e| explain(&e, &peer))?;
    let role = {
        let (_, conn) = tls.get_ref();
        let cert = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| Error::Io(format!("TLS with {peer}: no client certificate")))?;
        cert_role(cert).ok_or_else(|| {
            Error::Io(format!(
                "TLS with {peer}: the certificate names no libdask role"
            ))
        })?
    };
    let (r, w) = tokio::io::split(tls);
    Ok((Box::new(r), Box::new(w), role))
}

fn cert_role(cert: &CertificateDer<'_>) -> Option<Role> {
    let ee = webpki::EndEntityCert::try_from(cert).ok()?;
    ROLES.into_iter().find(|&r| {
        let name = ServerName::try_from(role_name(r)).expect("a valid DNS name");
        ee.verify_is_valid_for_subject_name(&name).is_ok()
    })
}
