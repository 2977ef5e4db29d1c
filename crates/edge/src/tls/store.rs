//! Where the edge keeps certificates and keys between restarts: a port the server implements over its
//! store (keys sealed), and an in-memory implementation for tests and embedded use.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// An error of a [`CertificateStore`] implementation.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// A PEM certificate chain (leaf first) and its PEM private key. The key is never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// The chain, PEM.
    pub chain_pem: String,
    /// The private key, PEM: implementations must encrypt it at rest.
    pub key_pem: String,
}

impl fmt::Debug for StoredCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCertificate").field("chain_pem", &self.chain_pem).field("key_pem", &"***").finish()
    }
}

/// Persistence of certificates by name: a host name, [`super::LOCAL_CA_NAME`] for the local CA, or
/// [`super::ACME_ACCOUNT_NAME`] for the ACME account (its credentials JSON as `key_pem`, the directory
/// URL as `chain_pem`).
#[async_trait::async_trait]
pub trait CertificateStore: Send + Sync + fmt::Debug {
    /// The certificate saved under `name`, if any.
    async fn load(&self, name: &str) -> Result<Option<StoredCertificate>, StoreError>;
    /// Saves (or replaces) the certificate under `name`.
    async fn save(&self, name: &str, certificate: &StoredCertificate) -> Result<(), StoreError>;
}

/// A [`CertificateStore`] in memory: certificates live as long as the process.
#[derive(Debug, Default)]
pub struct MemoryCertificateStore {
    certificates: Mutex<HashMap<String, StoredCertificate>>,
}

impl MemoryCertificateStore {
    /// What is saved under `name`.
    pub fn get(&self, name: &str) -> Option<StoredCertificate> {
        self.certificates.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(name).cloned()
    }
}

#[async_trait::async_trait]
impl CertificateStore for MemoryCertificateStore {
    async fn load(&self, name: &str) -> Result<Option<StoredCertificate>, StoreError> {
        Ok(self.get(name))
    }

    async fn save(&self, name: &str, certificate: &StoredCertificate) -> Result<(), StoreError> {
        self.certificates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned(), certificate.clone());
        Ok(())
    }
}
