use std::fmt;

/// A refused input: which field, and which rule it broke.
///
/// `field` is a dotted path into the request body (`ports[1].internal_port`),
/// so that a user can find the offending value without guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// Path of the offending field in the request body.
    pub field: String,
    /// The rule, phrased as what the value must be.
    pub rule: String,
}

impl ValidationError {
    /// A refusal of `field` for breaking `rule`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into() }
    }

    /// The same error, with its field nested under `parent`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.rule)
    }
}

/// Result of a validation step.
pub type Validation = Result<(), ValidationError>;
