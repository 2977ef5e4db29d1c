//! Certificates from an ACME CA, with HTTP-01 challenges answered by the edge's plain listener.
//!
//! One task per edge: it looks at the route table when a route is added and at every
//! [`TlsConfig::renewal_check_interval`](super::TlsConfig), loads stored certificates of routed hosts,
//! orders missing ones and renews those past their renewal point, one order at a time. A failed order
//! is retried after [`TlsConfig::retry_after_failure`](super::TlsConfig); the host keeps its previous
//! certificate, if it had one, meanwhile.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, DistinguishedName, KeyPair};

use super::certificate::Served;
use super::store::StoredCertificate;
use super::{ACME_ACCOUNT_NAME, AcmeConfig, Tls, TlsError, lock, read, write};
use crate::host::HostName;

/// How long one order may take from challenge to certificate.
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

/// The ACME task: runs as long as the edge's runtime.
pub(crate) async fn run(tls: Arc<Tls>, config: AcmeConfig) {
    let mut task = AcmeTask { tls, config, account: None, loaded: HashSet::new(), failed: HashMap::new() };
    loop {
        task.check_routes().await;
        let interval = task.tls.config.renewal_check_interval;
        tokio::select! {
            () = task.tls.wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}

struct AcmeTask {
    tls: Arc<Tls>,
    config: AcmeConfig,
    account: Option<Account>,
    /// Hosts whose stored certificate was already looked for.
    loaded: HashSet<HostName>,
    /// When each host's last order failed.
    failed: HashMap<HostName, Instant>,
}

impl AcmeTask {
    async fn check_routes(&mut self) {
        let hosts: Vec<HostName> = self
            .tls
            .router
            .routes()
            .into_iter()
            .filter_map(|route| HostName::parse(&route.host).ok())
            .filter(|host| wants_acme(&self.tls, host))
            .collect();
        for host in hosts {
            if self.failed.get(&host).is_some_and(|at| at.elapsed() < self.tls.config.retry_after_failure) {
                continue;
            }
            if self.loaded.insert(host.clone()) {
                self.load_stored(&host).await;
            }
            let due = read(&self.tls.issued)
                .get(&host)
                .is_none_or(|served| served.needs_renewal(SystemTime::now(), self.tls.config.renew_remaining_fraction));
            if !due {
                continue;
            }
            match self.issue(&host).await {
                Ok(()) => {
                    self.failed.remove(&host);
                }
                Err(error) => {
                    tracing::warn!(host = %host, %error, "cannot get a certificate; will try again later");
                    self.failed.insert(host, Instant::now());
                }
            }
        }
    }

    /// Serves the stored certificate of `host`, if there is a readable one.
    async fn load_stored(&self, host: &HostName) {
        match self.tls.store.load(host.as_str()).await {
            Ok(Some(stored)) => match Served::from_pem(&stored.chain_pem, &stored.key_pem) {
                Ok(served) => {
                    write(&self.tls.issued).insert(host.clone(), served);
                }
                Err(error) => tracing::warn!(host = %host, %error, "ignoring an unreadable stored certificate"),
            },
            Ok(None) => {}
            Err(error) => tracing::warn!(host = %host, %error, "cannot read the stored certificate"),
        }
    }

    /// Orders a certificate for `host`, stores it, and serves it.
    async fn issue(&mut self, host: &HostName) -> Result<(), TlsError> {
        tracing::info!(host = %host, directory = %self.config.directory_url, "ordering a certificate");
        let account = self.account().await?;
        let stored = order(&self.tls, &account, host).await?;
        let served = Served::from_pem(&stored.chain_pem, &stored.key_pem)?;
        self.tls.store.save(host.as_str(), &stored).await?;
        let info = served.info();
        write(&self.tls.issued).insert(host.clone(), served);
        tracing::info!(host = %host, serial = %info.serial, issuer = %info.issuer, "certificate issued");
        Ok(())
    }

    /// The ACME account: kept in memory, else restored from the store, else created and stored.
    async fn account(&mut self) -> Result<Account, TlsError> {
        if let Some(account) = &self.account {
            return Ok(account.clone());
        }
        let directory = self.config.directory_url.clone();
        let stored = self.tls.store.load(ACME_ACCOUNT_NAME).await?.filter(|s| s.chain_pem == directory);
        let restored = match stored {
            Some(stored) => match serde_json::from_str::<AccountCredentials>(&stored.key_pem) {
                Ok(credentials) => Some(self.builder()?.from_credentials(credentials).await.map_err(acme_error)?),
                Err(error) => {
                    tracing::warn!(%error, "ignoring unreadable ACME account credentials");
                    None
                }
            },
            None => None,
        };
        let account = match restored {
            Some(account) => account,
            None => {
                let contact = self.config.contact_email.as_ref().map(|email| format!("mailto:{email}"));
                let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
                let new = NewAccount { contact: &contact, terms_of_service_agreed: true, only_return_existing: false };
                let (account, credentials) =
                    self.builder()?.create(&new, directory.clone(), None).await.map_err(acme_error)?;
                let credentials = serde_json::to_string(&credentials).map_err(|e| TlsError::Acme(e.to_string()))?;
                let stored = StoredCertificate { chain_pem: directory, key_pem: credentials };
                self.tls.store.save(ACME_ACCOUNT_NAME, &stored).await?;
                tracing::info!(account = account.id(), "created an ACME account");
                account
            }
        };
        self.account = Some(account.clone());
        Ok(account)
    }

    fn builder(&self) -> Result<AccountBuilder, TlsError> {
        match &self.config.ca_file {
            Some(path) => Account::builder_with_root(path),
            None => Account::builder(),
        }
        .map_err(acme_error)
    }
}

/// Whether `host` gets its certificate from ACME: wanted, not a dev domain, not an IP literal.
fn wants_acme(tls: &Tls, host: &HostName) -> bool {
    let name = host.as_str();
    tls.router.wants_certificate(host)
        && !tls.is_dev_host(host)
        && !name.starts_with('[')
        && name.parse::<IpAddr>().is_err()
        && name.contains('.')
}

/// One order for `host`: HTTP-01 challenges published in the challenge map while they are validated.
async fn order(tls: &Tls, account: &Account, host: &HostName) -> Result<StoredCertificate, TlsError> {
    let identifiers = [Identifier::Dns(host.as_str().to_owned())];
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await.map_err(acme_error)?;
    let mut tokens = Vec::new();
    let result = async {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.map_err(acme_error)?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                status => return Err(TlsError::Acme(format!("authorization is {status:?}"))),
            }
            let mut challenge = authorization
                .challenge(ChallengeType::Http01)
                .ok_or_else(|| TlsError::Acme("the CA offers no HTTP-01 challenge".to_owned()))?;
            let answer = challenge.key_authorization().as_str().to_owned();
            lock(&tls.challenges).insert(challenge.token.clone(), answer);
            tokens.push(challenge.token.clone());
            challenge.set_ready().await.map_err(acme_error)?;
        }
        let retries = RetryPolicy::new().initial_delay(Duration::from_millis(100)).timeout(ORDER_TIMEOUT);
        let status = order.poll_ready(&retries).await.map_err(acme_error)?;
        if status != OrderStatus::Ready {
            return Err(TlsError::Acme(format!("the order is {status:?}, not ready")));
        }
        let key = KeyPair::generate().map_err(|e| TlsError::Certificate(e.to_string()))?;
        let mut params =
            CertificateParams::new(vec![host.as_str().to_owned()]).map_err(|e| TlsError::Certificate(e.to_string()))?;
        params.distinguished_name = DistinguishedName::new();
        let csr = params.serialize_request(&key).map_err(|e| TlsError::Certificate(e.to_string()))?;
        order.finalize_csr(csr.der()).await.map_err(acme_error)?;
        let chain_pem = order.poll_certificate(&retries).await.map_err(acme_error)?;
        Ok(StoredCertificate { chain_pem, key_pem: key.serialize_pem() })
    }
    .await;
    let mut challenges = lock(&tls.challenges);
    for token in &tokens {
        challenges.remove(token);
    }
    result
}

fn acme_error(error: instant_acme::Error) -> TlsError {
    TlsError::Acme(error.to_string())
}
