//! What the scheduler's rank sends every other rank once it listens: where to connect and,
//! with TLS, the certificate of that rank's role (only that role's: a worker never holds the
//! client's key). When the scheduler cannot start, the reason instead, so that every rank
//! fails with it rather than waiting.

use crate::distributed::tls::{Credentials, Security};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub address: String,
    /// CA, certificate and key (PEM) for the receiving rank's role.
    pub tls: Option<(String, String, String)>,
}

impl Invitation {
    pub fn new(address: &str, credentials: Option<&Credentials>) -> Invitation {
        Invitation {
            address: address.to_string(),
            tls: credentials.map(|c| (c.ca_pem.clone(), c.cert_pem.clone(), c.key_pem.clone())),
        }
    }

    pub fn security(&self) -> Security {
        match &self.tls {
            Some((ca, cert, key)) => Security::with_credentials(Credentials {
                ca_pem: ca.clone(),
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            }),
            None => Security::plain(),
        }
    }

    /// The bytes sent: an invitation, or why there is none.
    pub fn encode(answer: &std::result::Result<Invitation, String>) -> Vec<u8> {
        // A struct of strings always encodes.
        rmp_serde::to_vec(answer).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Invitation> {
        let answer: std::result::Result<Invitation, String> = rmp_serde::from_slice(bytes)
            .map_err(|e| {
                Error::Corrupt(format!("the scheduler's rank sent a bad invitation: {e}"))
            })?;
        answer.map_err(|why| Error::Io(format!("the scheduler's rank could not start: {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_travels_whole_and_a_refusal_keeps_its_reason() {
        let certs = crate::distributed::TemporaryCerts::new(false).unwrap();
        let sent = Invitation::new("tls://node1:40000", Some(&certs.worker));
        let got = Invitation::decode(&Invitation::encode(&Ok(sent.clone()))).unwrap();
        assert_eq!(got, sent);
        assert!(got.security().credentials.is_some());
        let plain = Invitation::new("tcp://node1:40000", None);
        assert!(Invitation::decode(&Invitation::encode(&Ok(plain)))
            .unwrap()
            .security()
            .credentials
            .is_none());
        let e = Invitation::decode(&Invitation::encode(&Err("port 80: denied".into())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("could not start: port 80: denied"), "{e}");
        assert!(Invitation::decode(b"\xff\x00garbage").is_err());
    }
}
