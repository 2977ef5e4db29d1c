//! HTTPS for the edge: the server's TLS options, the certificate store over Slipway's store (private
//! keys sealed by the secret box), and `slipway ca export`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;
use slipway_edge::{AcmeConfig, CertificateStore, StoreError, StoredCertificate, TlsConfig};
use slipway_secrets::SecretBox;
use slipway_store::{CertificateRecord, Store};

use crate::server::StoreArgs;

/// TLS options of `slipway server` (also read from the config file under the same names).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
pub struct TlsArgs {
    /// Address to serve HTTPS on (e.g. `0.0.0.0:443`); HTTPS is off unless set. Certificates come from
    /// Slipway's local CA for the dev domains and from ACME for other hosts.
    #[arg(long, env = "SLIPWAY_HTTPS_LISTEN")]
    pub https_listen: Option<SocketAddr>,
    /// ACME directory URL for certificates of hosts outside the dev domains (e.g. Let's Encrypt's
    /// `https://acme-v02.api.letsencrypt.org/directory`); without it those hosts get no certificate.
    #[arg(long, env = "SLIPWAY_ACME_DIRECTORY")]
    pub acme_directory: Option<String>,
    /// Contact email of the ACME account.
    #[arg(long, env = "SLIPWAY_ACME_EMAIL")]
    pub acme_email: Option<String>,
    /// A PEM root certificate that verifies the ACME server (for a private or test ACME CA).
    #[arg(long, env = "SLIPWAY_ACME_CA_FILE")]
    pub acme_ca_file: Option<PathBuf>,
    /// A domain served by the local CA, with its subdomains (repeatable; default `localhost`).
    #[arg(long = "tls-dev-domain", env = "SLIPWAY_TLS_DEV_DOMAINS", value_delimiter = ',')]
    #[serde(default)]
    pub tls_dev_domain: Vec<String>,
    /// Redirect plain HTTP to HTTPS (308) for hosts that have a certificate.
    #[arg(long, env = "SLIPWAY_HTTPS_REDIRECT")]
    #[serde(default)]
    pub https_redirect: bool,
}

impl TlsArgs {
    /// Flags and environment over the config file.
    pub fn or(self, file: TlsArgs) -> TlsArgs {
        TlsArgs {
            https_listen: self.https_listen.or(file.https_listen),
            acme_directory: self.acme_directory.or(file.acme_directory),
            acme_email: self.acme_email.or(file.acme_email),
            acme_ca_file: self.acme_ca_file.or(file.acme_ca_file),
            tls_dev_domain: if self.tls_dev_domain.is_empty() { file.tls_dev_domain } else { self.tls_dev_domain },
            https_redirect: self.https_redirect || file.https_redirect,
        }
    }

    /// The edge's TLS settings.
    pub fn config(&self) -> TlsConfig {
        let mut config = TlsConfig { https_redirect: self.https_redirect, ..TlsConfig::default() };
        if !self.tls_dev_domain.is_empty() {
            config.dev_domains = self.tls_dev_domain.clone();
        }
        config.acme = self.acme_directory.clone().map(|directory_url| AcmeConfig {
            directory_url,
            contact_email: self.acme_email.clone(),
            ca_file: self.acme_ca_file.clone(),
        });
        config
    }
}

/// The edge's certificates in Slipway's store, each private key sealed by the secret box.
#[derive(Debug, Clone)]
pub struct SealedCertificates {
    pub store: Store,
    pub secrets: SecretBox,
}

#[async_trait::async_trait]
impl CertificateStore for SealedCertificates {
    async fn load(&self, name: &str) -> Result<Option<StoredCertificate>, StoreError> {
        let Some(record) = self.store.certificate(name).await? else { return Ok(None) };
        let key_pem = self.secrets.open(&record.key_sealed)?;
        Ok(Some(StoredCertificate { chain_pem: record.chain_pem, key_pem }))
    }

    async fn save(&self, name: &str, certificate: &StoredCertificate) -> Result<(), StoreError> {
        let record = CertificateRecord {
            chain_pem: certificate.chain_pem.clone(),
            key_sealed: self.secrets.seal(&certificate.key_pem),
        };
        self.store.save_certificate(name, &record).await?;
        Ok(())
    }
}

/// The secret box of the server whose data directory `args` names.
pub fn secret_box(args: &StoreArgs) -> anyhow::Result<SecretBox> {
    SecretBox::load_or_create(&args.data_dir()?.join("secret.key"), std::env::var("SLIPWAY_SECRET_KEY").ok().as_deref())
        .context("cannot load the secret key")
}

/// Turns on HTTPS on `edge` when `--https-listen` is set: certificates kept in `store`, keys sealed by
/// `secrets`. Returns the bound HTTPS listener for [`serve`].
pub async fn enable(
    edge: &slipway_edge::Edge,
    args: &TlsArgs,
    store: &Store,
    secrets: &SecretBox,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = args.https_listen else { return Ok(None) };
    let certificates = SealedCertificates { store: store.clone(), secrets: secrets.clone() };
    edge.enable_tls(args.config(), std::sync::Arc::new(certificates)).await.context("cannot set up HTTPS")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the edge's HTTPS"))?;
    Ok(Some(listener))
}

/// Serves HTTPS on `listener` (from [`enable`]) until `shutdown` resolves.
pub fn serve(
    edge: slipway_edge::Edge,
    listener: Option<tokio::net::TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let Some(listener) = listener else { return };
    tokio::spawn(async move {
        if let Err(error) = edge.serve_tls(listener, shutdown).await {
            tracing::error!(%error, "the edge cannot serve HTTPS");
        }
    });
}

#[derive(Debug, clap::Subcommand)]
pub enum CaCommand {
    /// Print the local CA's certificate (PEM), to add to a browser's or system's trust store: the edge
    /// signs its HTTPS certificates for the dev domains (`localhost`, `*.localhost`...) with it. Made
    /// on first use.
    Export {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(cmd: CaCommand) -> anyhow::Result<()> {
    match cmd {
        CaCommand::Export { store: args } => {
            let store = args.open().await?;
            let certificates = SealedCertificates { store, secrets: secret_box(&args)? };
            let pem = slipway_edge::export_local_ca(&certificates).await.context("cannot read the local CA")?;
            print!("{pem}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_sealed_in_the_store_and_open_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&slipway_store::StoreConfig::Sqlite(dir.path().join("s.db"))).await.expect("store");
        let secrets = SecretBox::new(&slipway_secrets::generate_key(), &[]);
        let certificates = SealedCertificates { store: store.clone(), secrets };
        let pem = slipway_edge::export_local_ca(&certificates).await.expect("CA");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

        let raw = store.certificate(slipway_edge::LOCAL_CA_NAME).await.expect("read").expect("stored");
        assert_eq!(raw.chain_pem, pem);
        assert!(raw.key_sealed.starts_with(slipway_secrets::PREFIX), "sealed: {}", raw.key_sealed);
        assert!(!raw.key_sealed.contains("PRIVATE KEY"), "the key is not stored in clear");
        let opened = certificates.load(slipway_edge::LOCAL_CA_NAME).await.expect("load").expect("some");
        assert!(opened.key_pem.contains("PRIVATE KEY"));
        // The same CA on the next export: it is made once.
        assert_eq!(slipway_edge::export_local_ca(&certificates).await.expect("CA"), pem);

        // Replacing a certificate keeps one row per name.
        let next = StoredCertificate { chain_pem: "chain".into(), key_pem: "key".into() };
        certificates.save("app.example.com", &next).await.expect("save");
        certificates.save("app.example.com", &next).await.expect("save again");
        assert_eq!(certificates.load("app.example.com").await.expect("load"), Some(next));
        assert_eq!(certificates.load("other.example.com").await.expect("load"), None);
    }
}
