//! Handlers, grouped by the resources they serve.

pub mod organizations;
pub mod projects;
pub mod services;
