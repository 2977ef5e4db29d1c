//! Integration tests of the edge proxy against real upstream servers and real clients on loopback.

mod balancing;
mod drain;
mod forwarding;
mod pooling;
mod routing;
mod shutdown;
mod support;
mod switch;
mod tcp;
mod tls;
mod websocket;
