//! `slipway secrets`: the key that encrypts secrets at rest.
//!
//! `rotate-key` follows the secret box's rotation design (see
//! `slipway_secrets`): the next key is written beside the current one
//! (`secret.key.next`), every sealed value in the store is re-sealed under it
//! in one transaction, then the next key replaces the current one. A server
//! started after a crash at any step loads both files and opens every value;
//! running `rotate-key` again finishes the job with the same next key.

use anyhow::{Context, bail};
use slipway_secrets::{PREFIX, Rotation, SecretError};

use crate::server::StoreArgs;

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Replace the key that encrypts secrets at rest, re-encrypting every
    /// stored secret (variables, database and registry credentials, database
    /// server URLs, releases) under a new one. Offline: stop the server first,
    /// and every server sharing its store. With several servers on one
    /// PostgreSQL store, copy the new key file to each before starting them.
    RotateKey {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(cmd: SecretsCommand) -> anyhow::Result<()> {
    match cmd {
        SecretsCommand::RotateKey { store: args } => rotate_key(&args).await,
    }
}

async fn rotate_key(args: &StoreArgs) -> anyhow::Result<()> {
    if std::env::var_os("SLIPWAY_SECRET_KEY").is_some() {
        bail!(
            "the server's key comes from SLIPWAY_SECRET_KEY, not from a key file: rotate-key rotates the key file \
             in the data directory; unset SLIPWAY_SECRET_KEY to use it"
        );
    }
    let key_file = args.data_dir()?.join("secret.key");
    if !key_file.exists() {
        bail!("no key file at {}: nothing to rotate (the server creates it on its first start)", key_file.display());
    }
    let store = args.open().await?;
    let rotation = Rotation::begin(&key_file).context("cannot start the rotation")?;
    let resealed = store
        .rewrite_sealed(PREFIX, |value| match rotation.reseal(value) {
            Ok(new) => Ok(Some(new)),
            // Text that merely starts like a sealed value.
            Err(SecretError::NotSealed) => Ok(None),
            Err(e) => Err(e),
        })
        .await
        .context(
            "nothing was changed, and the current key still opens every secret; \
             a value sealed under a key this server does not have cannot be moved to the new key",
        )?;
    let (old, new) = (rotation.old_key_id(), rotation.new_key_id());
    rotation
        .finish()
        .context("the secrets are re-encrypted, but the new key could not be installed; run rotate-key again")?;
    println!(
        "Rotated the secret key in {}: {resealed} secrets re-encrypted under key {new} (was {old}).\n\
         The old key is gone. Start the server again.",
        key_file.display()
    );
    Ok(())
}
