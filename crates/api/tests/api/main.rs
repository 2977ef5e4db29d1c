//! API tests: the real router over a real store, driven without a socket.

mod actions;
mod auth;
mod bad_input;
mod custom_domains;
mod database_servers;
mod errors;
mod history;
mod openapi;
mod resources;
mod support;
mod variables;
