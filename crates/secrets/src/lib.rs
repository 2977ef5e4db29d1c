//! Slipway's secret box: how secrets are kept at rest.
//!
//! Every secret Slipway stores (secret variables, registry passwords,
//! database credentials, admin URLs of managed database servers) is sealed
//! with XChaCha20-Poly1305 under the server's key before it reaches the
//! store, and opened only where it is used (the engine, when it starts an
//! instance). The API never returns one.
//!
//! A sealed value is `sw1:` and the base64 of: the key's id (the first 8
//! bytes of the SHA-256 of the key), a random 24-byte nonce, and the
//! ciphertext with its tag. The id lets a box hold several keys during a
//! rotation and open values sealed under any of them, while sealing only
//! under the current one.
//!
//! The key comes from `SLIPWAY_SECRET_KEY` (64 hex digits), or from a key
//! file (default `<data dir>/secret.key`), which is created with mode 0600 on
//! first start. A rotation writes the new key to `secret.key.next`, re-seals
//! everything, then renames it over `secret.key`; a box loads both files, so
//! a crash at any point leaves every value openable.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// The prefix of every sealed value.
pub const PREFIX: &str = "sw1:";

const ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;

/// Why a secret could not be sealed, opened or its key loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The value is not something this box sealed.
    #[error("not a sealed value")]
    NotSealed,
    /// It was sealed under a key this box does not hold.
    #[error("sealed under key {0}, which this server does not have")]
    UnknownKey(String),
    /// The ciphertext was altered, or the key is wrong.
    #[error("the sealed value does not open: altered, or sealed under another key with the same id")]
    Tampered,
    /// The key material is malformed.
    #[error("invalid secret key: {0}")]
    InvalidKey(String),
    /// The key file could not be read or written.
    #[error("secret key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// One key.
#[derive(Clone)]
struct Key {
    id: [u8; ID_LEN],
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Key {
        let digest = Sha256::digest(bytes);
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        Key { id, cipher: XChaCha20Poly1305::new(bytes.into()) }
    }
}

/// Seals and opens secrets. Cheap to clone.
#[derive(Clone)]
pub struct SecretBox {
    /// The current key first, then older ones kept for opening.
    keys: Vec<Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("current_key", &self.current_key_id())
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// A fresh random key.
pub fn generate_key() -> [u8; 32] {
    rand::random()
}

/// Parses 64 hex digits into a key.
pub fn parse_key(text: &str) -> Result<[u8; 32], SecretError> {
    let bytes = hex::decode(text.trim()).map_err(|_| SecretError::InvalidKey("expected 64 hex digits".into()))?;
    bytes.try_into().map_err(|_| SecretError::InvalidKey("expected 32 bytes (64 hex digits)".into()))
}

/// Writes a key file readable by its owner only; fails if it exists.
pub fn write_key_file(path: &Path, key: &[u8; 32]) -> Result<(), SecretError> {
    let io = |source| SecretError::Io { path: path.to_owned(), source };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

fn read_key_file(path: &Path) -> Result<Option<[u8; 32]>, SecretError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_key(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SecretError::Io { path: path.to_owned(), source }),
    }
}

/// The file a rotation writes the next key to, beside `key_file`.
pub fn next_key_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    key_file.with_file_name(name)
}

impl SecretBox {
    /// A box holding `current` (used to seal) and `older` keys (to open).
    pub fn new(current: &[u8; 32], older: &[[u8; 32]]) -> SecretBox {
        let mut keys = vec![Key::new(current)];
        keys.extend(older.iter().map(Key::new));
        SecretBox { keys }
    }

    /// The server's box: the key from `env_key` (64 hex digits) when given;
    /// else from `key_file`, created with a fresh key on first start. A key
    /// left by an interrupted rotation (`<key file>.next`) is loaded too.
    pub fn load_or_create(key_file: &Path, env_key: Option<&str>) -> Result<SecretBox, SecretError> {
        if let Some(text) = env_key {
            return Ok(SecretBox::new(&parse_key(text)?, &[]));
        }
        let next = read_key_file(&next_key_path(key_file))?;
        let current = match read_key_file(key_file)? {
            Some(key) => key,
            None => {
                let key = generate_key();
                if let Some(dir) = key_file.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| SecretError::Io { path: dir.to_owned(), source })?;
                }
                write_key_file(key_file, &key)?;
                key
            }
        };
        Ok(match next {
            // Interrupted rotation: values may be sealed under either key.
            Some(next) => SecretBox::new(&next, &[current]),
            None => SecretBox::new(&current, &[]),
        })
    }

    /// The id of the key new values are sealed under (hex).
    pub fn current_key_id(&self) -> String {
        hex::encode(self.keys[0].id)
    }

    /// Seals `plaintext` under the current key.
    pub fn seal(&self, plaintext: &str) -> String {
        let key = &self.keys[0];
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        // Encryption with a valid key and nonce cannot fail.
        let ciphertext = key.cipher.encrypt(&nonce, plaintext.as_bytes()).unwrap_or_default();
        let mut out = Vec::with_capacity(ID_LEN + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    /// Opens a value sealed under any key of this box.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SecretError::NotSealed)?;
        let bytes =
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).map_err(|_| SecretError::NotSealed)?;
        if bytes.len() < ID_LEN + NONCE_LEN + 16 {
            return Err(SecretError::NotSealed);
        }
        let (id, rest) = bytes.split_at(ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| SecretError::UnknownKey(hex::encode(id)))?;
        let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::NotSealed)?;
        let plain = key.cipher.decrypt(&nonce, ciphertext).map_err(|_| SecretError::Tampered)?;
        String::from_utf8(plain).map_err(|_| SecretError::Tampered)
    }

    /// Opens a value that may predate sealing: a sealed value is opened, any
    /// other is returned as it is (stored in clear by an older Slipway, and
    /// sealed the next time it is written).
    pub fn open_or_plain(&self, value: &str) -> Result<String, SecretError> {
        if is_sealed(value) { self.open(value) } else { Ok(value.to_owned()) }
    }

    /// Whether `value` is sealed under the current key already.
    pub fn is_current(&self, value: &str) -> bool {
        let Some(body) = value.strip_prefix(PREFIX) else { return false };
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .is_ok_and(|bytes| bytes.len() >= ID_LEN && bytes[..ID_LEN] == self.keys[0].id)
    }
}

/// A key rotation in progress: the next key is on disk beside the current
/// one (`<key file>.next`), so that a server started at any point of the
/// rotation opens values sealed under either. [`Rotation::reseal`] moves
/// each stored value to the next key; [`Rotation::finish`] then makes the
/// next key the only one.
pub struct Rotation {
    key_file: PathBuf,
    /// Holds the next key and the current one: opens everything.
    opener: SecretBox,
    /// Holds the next key only.
    sealer: SecretBox,
    replaced: String,
}

impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotation")
            .field("key_file", &self.key_file)
            .field("from", &self.replaced)
            .field("to", &self.sealer.current_key_id())
            .finish()
    }
}

impl Rotation {
    /// Starts rotating the key kept in `key_file`: writes a fresh next key,
    /// or reuses the one an interrupted rotation left (values may already
    /// be sealed under it).
    pub fn begin(key_file: &Path) -> Result<Rotation, SecretError> {
        let current = read_key_file(key_file)?.ok_or_else(|| SecretError::Io {
            path: key_file.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no key file: nothing to rotate"),
        })?;
        let next_path = next_key_path(key_file);
        let next = match read_key_file(&next_path)? {
            Some(next) => next,
            None => {
                let next = generate_key();
                write_key_file(&next_path, &next)?;
                sync_dir(key_file)?;
                next
            }
        };
        Ok(Rotation {
            key_file: key_file.to_owned(),
            opener: SecretBox::new(&next, &[current]),
            sealer: SecretBox::new(&next, &[]),
            replaced: SecretBox::new(&current, &[]).current_key_id(),
        })
    }

    /// The id of the key being replaced (hex).
    pub fn old_key_id(&self) -> String {
        self.replaced.clone()
    }

    /// The id of the key being installed (hex).
    pub fn new_key_id(&self) -> String {
        self.sealer.current_key_id()
    }

    /// `sealed` re-sealed under the next key (unchanged if it already is).
    pub fn reseal(&self, sealed: &str) -> Result<String, SecretError> {
        if self.sealer.is_current(sealed) {
            return Ok(sealed.to_owned());
        }
        Ok(self.sealer.seal(&self.opener.open(sealed)?))
    }

    /// Makes the next key the only one: renames it over the key file. Call
    /// it once every stored value is re-sealed; returns the new box.
    pub fn finish(self) -> Result<SecretBox, SecretError> {
        let next_path = next_key_path(&self.key_file);
        std::fs::rename(&next_path, &self.key_file)
            .map_err(|source| SecretError::Io { path: next_path.clone(), source })?;
        sync_dir(&self.key_file)?;
        Ok(self.sealer)
    }
}

/// Makes a rename or a creation in the directory of `file` durable.
fn sync_dir(file: &Path) -> Result<(), SecretError> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| SecretError::Io { path: dir.to_owned(), source })
}

/// Whether a value looks sealed.
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_and_never_show_the_plaintext() {
        let b = SecretBox::new(&generate_key(), &[]);
        let sealed = b.seal("hunter2");
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("hunter2"));
        assert_ne!(sealed, b.seal("hunter2"), "a fresh nonce every time");
        assert_eq!(b.open(&sealed).unwrap(), "hunter2");
        assert!(b.is_current(&sealed));
    }

    #[test]
    fn tampering_and_foreign_keys_are_refused() {
        let b = SecretBox::new(&generate_key(), &[]);
        let sealed = b.seal("x");
        let mut bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(&sealed[PREFIX.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes));
        assert!(matches!(b.open(&altered), Err(SecretError::Tampered)));
        let other = SecretBox::new(&generate_key(), &[]);
        assert!(matches!(other.open(&sealed), Err(SecretError::UnknownKey(_))));
        assert!(matches!(b.open("plain"), Err(SecretError::NotSealed)));
        assert_eq!(b.open_or_plain("legacy clear text").unwrap(), "legacy clear text");
        assert_eq!(b.open_or_plain(&sealed).unwrap(), "x");
    }

    #[test]
    fn a_rotated_box_opens_old_values_and_seals_under_the_new_key() {
        let (old, new) = (generate_key(), generate_key());
        let before = SecretBox::new(&old, &[]).seal("v");
        let rotated = SecretBox::new(&new, &[old]);
        assert_eq!(rotated.open(&before).unwrap(), "v");
        assert!(!rotated.is_current(&before));
        assert!(rotated.is_current(&rotated.seal("v")));
    }

    #[test]
    fn a_rotation_reseals_under_a_new_key_and_survives_interruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let before = SecretBox::load_or_create(&path, None).unwrap();
        let old_text = std::fs::read_to_string(&path).unwrap();
        let sealed = before.seal("kept");

        let rotation = Rotation::begin(&path).unwrap();
        assert_eq!(rotation.old_key_id(), before.current_key_id());
        // Interrupted here: a server opens old values and seals under the next key.
        let mid = SecretBox::load_or_create(&path, None).unwrap();
        assert_eq!(mid.open(&sealed).unwrap(), "kept");
        assert_eq!(mid.current_key_id(), rotation.new_key_id());
        // Resumed: the same next key, so values sealed meanwhile stay openable.
        let from_mid = mid.seal("meanwhile");
        drop(rotation);
        let rotation = Rotation::begin(&path).unwrap();
        assert_eq!(rotation.new_key_id(), mid.current_key_id());
        let resealed = rotation.reseal(&sealed).unwrap();
        assert_eq!(rotation.reseal(&from_mid).unwrap(), from_mid, "already under the next key");
        let after = rotation.finish().unwrap();

        assert!(!next_key_path(&path).exists());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_ne!(text, old_text, "the old key is gone from the key file");
        let reloaded = SecretBox::load_or_create(&path, None).unwrap();
        assert_eq!(reloaded.current_key_id(), after.current_key_id());
        assert_eq!(reloaded.open(&resealed).unwrap(), "kept");
        assert_eq!(reloaded.open(&from_mid).unwrap(), "meanwhile");
        assert!(matches!(reloaded.open(&sealed), Err(SecretError::UnknownKey(_))));
        assert!(Rotation::begin(&dir.path().join("missing.key")).is_err());
    }

    #[test]
    fn the_key_file_is_created_owner_only_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = SecretBox::load_or_create(&path, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = first.seal("kept");
        let again = SecretBox::load_or_create(&path, None).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "kept");
        // An interrupted rotation: both keys open, the next one seals.
        let next = generate_key();
        write_key_file(&next_key_path(&path), &next).unwrap();
        let mid = SecretBox::load_or_create(&path, None).unwrap();
        assert_eq!(mid.open(&sealed).unwrap(), "kept");
        assert_eq!(mid.current_key_id(), SecretBox::new(&next, &[]).current_key_id());
        // A key from the environment wins; a malformed one is refused.
        let env = hex::encode(generate_key());
        assert_ne!(SecretBox::load_or_create(&path, Some(&env)).unwrap().current_key_id(), first.current_key_id());
        assert!(SecretBox::load_or_create(&path, Some("nope")).is_err());
    }
}
