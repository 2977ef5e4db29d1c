//! Integration tests of slipway-build against real git repositories, a real
//! `git daemon`, a real container engine and a real registry, all started by
//! the tests themselves.

mod fetch;
mod images;
mod support;
