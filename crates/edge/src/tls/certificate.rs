//! A certificate as the edge serves it: the rustls key plus the dates that decide its renewal.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// What the edge serves for a host, and when it was valid from and until.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub key: Arc<CertifiedKey>,
    pub info: CertificateInfo,
}

/// Facts about a served certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Serial number, hex.
    pub serial: String,
    /// The issuer's distinguished name.
    pub issuer: String,
}

impl CertificateInfo {
    /// Whether less than `fraction` of the lifetime is left at `now` (or the certificate is not valid).
    pub fn needs_renewal(&self, now: SystemTime, fraction: f64) -> bool {
        let lifetime = self.not_after.duration_since(self.not_before).unwrap_or(Duration::ZERO);
        match self.not_after.duration_since(now) {
            Ok(left) => left < lifetime.mul_f64(fraction.clamp(0.0, 1.0)),
            Err(_) => true,
        }
    }
}

impl Served {
    /// Parses a PEM chain (leaf first) and its PEM private key.
    pub(crate) fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate(format!("unreadable certificate chain: {e}")))?;
        let leaf = chain.first().ok_or_else(|| TlsError::Certificate("empty certificate chain".to_owned()))?;
        let info = CertificateInfo::of(leaf)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| TlsError::Certificate(format!("unreadable private key: {e}")))?;
        let signing_key = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| TlsError::Certificate(format!("unsupported private key: {e}")))?;
        Ok(Self { key: Arc::new(CertifiedKey::new(chain, signing_key)), info })
    }

    pub(crate) fn info(&self) -> CertificateInfo {
        self.info.clone()
    }

    pub(crate) fn needs_renewal(&self, now: SystemTime, fraction: f64) -> bool {
        self.info.needs_renewal(now, fraction)
    }
}

impl CertificateInfo {
    fn of(der: &CertificateDer<'_>) -> Result<Self, TlsError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| TlsError::Certificate(format!("unparsable certificate: {e}")))?;
        let at = |secs: i64| UNIX_EPOCH + Duration::from_secs(secs.max(0).unsigned_abs());
        let validity = cert.validity();
        Ok(Self {
            not_before: at(validity.not_before.timestamp()),
            not_after: at(validity.not_after.timestamp()),
            serial: cert.raw_serial_as_string(),
            issuer: cert.issuer().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(lifetime_secs: u64) -> CertificateInfo {
        let not_before = UNIX_EPOCH + Duration::from_secs(1_000_000);
        CertificateInfo {
            not_before,
            not_after: not_before + Duration::from_secs(lifetime_secs),
            serial: "01".into(),
            issuer: "CN=test".into(),
        }
    }

    #[test]
    fn renews_when_less_than_the_fraction_of_the_lifetime_is_left() {
        let cert = info(90 * 86_400);
        let day = |d: u64| cert.not_before + Duration::from_secs(d * 86_400);
        assert!(!cert.needs_renewal(day(0), 1.0 / 3.0));
        assert!(!cert.needs_renewal(day(59), 1.0 / 3.0), "31 days of 90 left");
        assert!(cert.needs_renewal(day(61), 1.0 / 3.0), "29 days of 90 left");
        assert!(cert.needs_renewal(day(91), 1.0 / 3.0), "expired");
        assert!(!cert.needs_renewal(day(80), 0.0), "never, with a zero threshold, until it expires");
    }
}
