//! The rules shared by several resources, each stated once.

use crate::error::{Validation, ValidationError};

/// Longest accepted resource name.
pub const MAX_NAME_LEN: usize = 255;

/// A resource name: 1 to 255 characters, no control characters, and no
/// leading or trailing whitespace (which would make two names look alike).
pub fn name(field: &str, value: &str) -> Validation {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(ValidationError::new(field, format!("must be at most {MAX_NAME_LEN} characters")));
    }
    if value.trim() != value {
        return Err(ValidationError::new(field, "must not start or end with whitespace"));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// Free text such as a description: at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Validation {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

/// A non-empty value with no whitespace or control characters.
pub fn token(field: &str, value: &str) -> Validation {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new(field, "must not contain whitespace"));
    }
    Ok(())
}

/// An integer within `min..=max`.
pub fn range<T>(field: &str, value: T, min: T, max: T) -> Validation
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value < min || value > max {
        return Err(ValidationError::new(field, format!("must be between {min} and {max}, got {value}")));
    }
    Ok(())
}

/// A TCP/UDP port number.
pub fn port(field: &str, value: u32) -> Validation {
    range(field, value, 1, 65535)
}

/// An absolute path inside a container or repository, without `..`.
pub fn absolute_path(field: &str, value: &str) -> Validation {
    if !value.starts_with('/') {
        return Err(ValidationError::new(field, format!("must be an absolute path starting with `/`, got `{value}`")));
    }
    relative_safe(field, value)
}

/// A path relative to a repository root: no `..` components.
pub fn relative_safe(field: &str, value: &str) -> Validation {
    if value.split('/').any(|part| part == "..") {
        return Err(ValidationError::new(field, "must not contain `..`"));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// An http(s) URL.
pub fn http_url(field: &str, value: &str) -> Validation {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(ValidationError::new(field, format!("must be an http:// or https:// URL, got `{value}`"))),
    }
}

/// A git remote: `https://`, `http://`, `ssh://`, `git://`, `file://`, or the
/// scp-like `user@host:path` form.
pub fn git_url(field: &str, value: &str) -> Validation {
    let refuse = || {
        ValidationError::new(
            field,
            format!("must be a git URL (https://, ssh://, git://, file:// or user@host:path), got `{value}`"),
        )
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse());
    }
    if let Ok(u) = url::Url::parse(value) {
        return match u.scheme() {
            "https" | "http" | "ssh" | "git" if u.host().is_some() => Ok(()),
            "file" if u.path().len() > 1 => Ok(()),
            _ => Err(refuse()),
        };
    }
    // scp-like syntax: user@host:path
    match value.split_once(':') {
        Some((user_host, path)) if user_host.contains('@') && !path.is_empty() && !user_host.contains('/') => Ok(()),
        _ => Err(refuse()),
    }
}

/// The owner and repository name of a git URL, as shown in responses
/// (`https://host/acme/shop.git` gives `("acme", "shop")`).
pub fn git_owner_and_name(url: &str) -> (String, String) {
    let path = match url::Url::parse(url) {
        Ok(u) => u.path().to_owned(),
        Err(_) => url.split_once(':').map(|(_, p)| p.to_owned()).unwrap_or_default(),
    };
    let mut parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let name = parts.pop().unwrap_or_default().trim_end_matches(".git").to_owned();
    let owner = parts.pop().unwrap_or_default().to_owned();
    (owner, name)
}

/// A git branch or tag name (the subset of `git check-ref-format` rules that
/// catch real mistakes).
pub fn git_ref(field: &str, value: &str) -> Validation {
    let bad = value.is_empty()
        || value.starts_with('-')
        || value.starts_with('/')
        || value.ends_with('/')
        || value.ends_with(".lock")
        || value.contains("..")
        || value.contains("@{")
        || value.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    if bad {
        return Err(ValidationError::new(field, format!("must be a valid git branch name, got `{value}`")));
    }
    Ok(())
}

/// An image repository name such as `library/nginx` or `registry.local:5000/app`.
pub fn image_name(field: &str, value: &str) -> Validation {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:".contains(c))
        && !value.starts_with(['/', '.', '-', ':'])
        && !value.ends_with(['/', '.', '-', ':']);
    if !ok {
        return Err(ValidationError::new(
            field,
            format!(
                "must be an image name of lower-case letters, digits, `.`, `_`, `-`, `/` (and a `host:port/` prefix), got `{value}`"
            ),
        ));
    }
    Ok(())
}

/// An image tag: up to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
pub fn image_tag(field: &str, value: &str) -> Validation {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && !value.starts_with(['.', '-']);
    if !ok {
        return Err(ValidationError::new(
            field,
            format!("must be an image tag of up to 128 letters, digits, `_`, `.` or `-`, got `{value}`"),
        ));
    }
    Ok(())
}

/// A cron schedule: 5 fields, or 6 with a leading seconds field.
pub fn cron(field: &str, value: &str) -> Validation {
    let fields = value.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(ValidationError::new(
            field,
            format!("must be a cron expression of 5 fields (or 6 with seconds first), got `{value}`"),
        ));
    }
    // A 6th field is a leading seconds field; years are not accepted.
    let parsed = croner::parser::CronParser::builder().year(croner::parser::Year::Disallowed).build().parse(value);
    parsed.map(|_| ()).map_err(|e| ValidationError::new(field, format!("must be a valid cron expression: {e}")))
}

/// An IANA time zone name such as `Etc/UTC` or `Europe/Paris`.
pub fn timezone(field: &str, value: &str) -> Validation {
    value
        .parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| ValidationError::new(field, format!("must be an IANA time zone such as `Etc/UTC`, got `{value}`")))
}

/// Every element of `items` passes `check`; errors name the index.
pub fn each<T>(field: &str, items: &[T], mut check: impl FnMut(&T) -> Validation) -> Validation {
    for (i, item) in items.iter().enumerate() {
        check(item).map_err(|e| e.within(&format!("{field}[{i}]")))?;
    }
    Ok(())
}

/// Deserializes a request body into `T`; a refusal names the offending field
/// by its path in the body (`ports[0].internal_port`).
pub fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        // "missing field `x`" is reported at the parent; name the field itself.
        if let Some(missing) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            let field = if path == "." { missing.to_owned() } else { format!("{path}.{missing}") };
            return ValidationError::new(field, "is required");
        }
        let field = if path == "." { String::new() } else { path };
        ValidationError::new(field, format!("is invalid: {message}"))
    })
}

/// The edit of `current` by a request body: the body's top-level fields
/// replace the current ones, the others are kept (`null` clears an optional
/// field). The result is parsed like a new request; callers validate it.
pub fn merge<T>(current: &T, body: serde_json::Value) -> Result<T, ValidationError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let serde_json::Value::Object(changes) = body else {
        return Err(ValidationError::new("", "the request body must be a JSON object"));
    };
    let mut merged = match serde_json::to_value(current) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    merged.extend(changes);
    parse(serde_json::Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_empty_padded_and_overlong_values() {
        assert!(name("name", "shop").is_ok());
        assert!(name("name", "my shop").is_ok());
        assert_eq!(name("name", "").unwrap_err().rule, "must not be empty");
        assert!(name("name", " shop").is_err());
        assert!(name("name", "shop\n").is_err());
        assert!(name("name", &"x".repeat(256)).is_err());
    }

    #[test]
    fn git_urls_accept_the_documented_schemes_only() {
        for ok in [
            "https://example.com/acme/shop.git",
            "ssh://git@example.com/acme/shop.git",
            "git://127.0.0.1/shop",
            "file:///srv/git/shop",
            "git@example.com:acme/shop.git",
        ] {
            assert!(git_url("url", ok).is_ok(), "{ok}");
        }
        for bad in ["", "shop", "ftp://example.com/x", "https://", "file:///", "https://exa mple.com/x"] {
            assert!(git_url("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn git_owner_and_name_come_from_the_path() {
        assert_eq!(git_owner_and_name("https://h/acme/shop.git"), ("acme".into(), "shop".into()));
        assert_eq!(git_owner_and_name("git@h:acme/shop.git"), ("acme".into(), "shop".into()));
        assert_eq!(git_owner_and_name("file:///srv/shop"), ("srv".into(), "shop".into()));
    }

    #[test]
    fn cron_accepts_five_and_six_fields() {
        assert!(cron("c", "*/5 * * * *").is_ok());
        assert!(cron("c", "*/10 * * * * *").is_ok());
        assert!(cron("c", "61 * * * *").is_err());
        assert!(cron("c", "every minute").is_err());
        assert!(cron("c", "* * *").is_err());
    }

    #[test]
    fn timezones_are_iana_names() {
        assert!(timezone("tz", "Etc/UTC").is_ok());
        assert!(timezone("tz", "Europe/Paris").is_ok());
        assert!(timezone("tz", "Mars/Olympus").is_err());
    }

    #[test]
    fn image_references_follow_registry_rules() {
        assert!(image_name("i", "library/nginx").is_ok());
        assert!(image_name("i", "127.0.0.1:5000/shop").is_ok());
        assert!(image_name("i", "Nginx").is_err());
        assert!(image_tag("t", "1.27-alpine").is_ok());
        assert!(image_tag("t", "").is_err());
        assert!(image_tag("t", "a b").is_err());
    }

    #[test]
    fn each_names_the_failing_index() {
        let err = each("ports", &[1u32, 0], |p| port("internal_port", *p)).unwrap_err();
        assert_eq!(err.field, "ports[1].internal_port");
    }
}
