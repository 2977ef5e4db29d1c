//! Slipway's local certificate authority: one CA per installation, leaves issued per host name.

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use time::OffsetDateTime;

use super::certificate::Served;
use super::store::{CertificateStore, StoredCertificate};
use super::{LOCAL_CA_NAME, TlsError};

/// How long the CA is valid: long, since users install it once.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);
/// How long a leaf is valid; leaves are re-issued in memory as they age.
const LEAF_LIFETIME: Duration = Duration::from_secs(30 * 86_400);
/// Leaves start a little in the past, for clients whose clock is behind.
const BACKDATE: Duration = Duration::from_secs(3600);

/// The local CA: its certificate and the issuer that signs leaves.
pub(crate) struct LocalCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl LocalCa {
    /// The CA kept in `store`, or a new one saved there.
    pub(crate) async fn load_or_create(store: &dyn CertificateStore) -> Result<Self, TlsError> {
        if let Some(stored) = store.load(LOCAL_CA_NAME).await? {
            return Self::from_stored(&stored);
        }
        let (ca, stored) = Self::create()?;
        store.save(LOCAL_CA_NAME, &stored).await?;
        tracing::info!("created Slipway's local certificate authority");
        Ok(ca)
    }

    fn from_stored(stored: &StoredCertificate) -> Result<Self, TlsError> {
        let key = KeyPair::from_pem(&stored.key_pem).map_err(|e| certificate_error("the local CA key", e))?;
        let issuer =
            Issuer::from_ca_cert_pem(&stored.chain_pem, key).map_err(|e| certificate_error("the local CA", e))?;
        Ok(Self { pem: stored.chain_pem.clone(), issuer })
    }

    fn create() -> Result<(Self, StoredCertificate), TlsError> {
        let key = KeyPair::generate().map_err(|e| certificate_error("a CA key", e))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "Slipway");
        name.push(DnType::CommonName, format!("Slipway local CA {}", random_label()));
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = SystemTime::now();
        params.not_before = OffsetDateTime::from(now - BACKDATE);
        params.not_after = OffsetDateTime::from(now + CA_LIFETIME);
        let cert = params.self_signed(&key).map_err(|e| certificate_error("the CA certificate", e))?;
        let stored = StoredCertificate { chain_pem: cert.pem(), key_pem: key.serialize_pem() };
        Ok((Self::from_stored(&stored)?, stored))
    }

    /// The CA certificate, PEM.
    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }

    /// A new leaf certificate for `host` (chain: leaf, CA).
    pub(crate) fn issue_leaf(&self, host: &str) -> Result<Served, TlsError> {
        let key = KeyPair::generate().map_err(|e| certificate_error("a leaf key", e))?;
        let mut params =
            CertificateParams::new(vec![host.to_owned()]).map_err(|e| certificate_error("leaf parameters", e))?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, host);
        params.distinguished_name = name;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&random_bytes()));
        let now = SystemTime::now();
        params.not_before = OffsetDateTime::from(now - BACKDATE);
        params.not_after = OffsetDateTime::from(now + LEAF_LIFETIME);
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| certificate_error("a leaf certificate", e))?;
        let chain = format!("{}{}", cert.pem(), self.pem);
        Served::from_pem(&chain, &key.serialize_pem())
    }
}

fn certificate_error(what: &str, error: rcgen::Error) -> TlsError {
    TlsError::Certificate(format!("cannot make or read {what}: {error}"))
}

/// 16 random bytes (positive as a serial number: the high bit is cleared).
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    // ring's system RNG; a failure here would also fail every key generation.
    let _ = rustls::crypto::ring::default_provider().secure_random.fill(&mut bytes);
    bytes[0] &= 0x7f;
    bytes
}

/// A short random label that tells one installation's CA from another's in trust stores.
fn random_label() -> String {
    random_bytes()[..4].iter().map(|b| format!("{b:02x}")).collect()
}
