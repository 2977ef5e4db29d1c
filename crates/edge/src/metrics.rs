//! Request metrics per route, in the Prometheus text format.
//!
//! Each route gets its handles once, when it is first set, so that counting a request costs a few
//! relaxed atomic additions and no lookup. Series stay after a route is removed: counters never go
//! backwards for a scraper.

use std::sync::Arc;
use std::time::Duration;

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Latency buckets, in seconds: 0.5 ms to about 33 s, doubling.
const LATENCY_BUCKETS: [f64; 17] = {
    let mut buckets = [0.0; 17];
    let mut i = 0;
    let mut bound = 0.000_5;
    while i < buckets.len() {
        buckets[i] = bound;
        bound *= 2.0;
        i += 1;
    }
    buckets
};

/// The class of a response status (`1xx` to `5xx`), the `class` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct StatusClass(u8);

impl EncodeLabelValue for StatusClass {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        write!(encoder, "{}xx", self.0)
    }
}

const CLASSES: [StatusClass; 5] = [StatusClass(1), StatusClass(2), StatusClass(3), StatusClass(4), StatusClass(5)];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    host: String,
    class: StatusClass,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HostLabels {
    host: String,
}

/// Every metric the edge exports.
#[derive(Debug)]
pub(crate) struct EdgeMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<HostLabels, Histogram>,
    unknown_host: Counter,
    tunnels: Gauge,
    ejections: Counter,
}

/// The handles of one route.
#[derive(Debug, Clone)]
pub(crate) struct RouteMetrics {
    by_class: [Counter; 5],
    latency: Histogram,
}

impl RouteMetrics {
    /// Counts a response of `status` whose headers were ready after `elapsed`.
    pub(crate) fn record(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].inc();
        self.latency.observe(elapsed.as_secs_f64());
    }
}

impl Default for EdgeMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("slipway_edge");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<HostLabels, Histogram>::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS.iter().copied()));
        let unknown_host = Counter::default();
        let tunnels = Gauge::default();
        let ejections = Counter::default();
        registry.register("requests", "Requests answered, by host and status class", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response headers, by host",
            latency.clone(),
        );
        registry.register(
            "unknown_host_requests",
            "Requests for a host without a route (answered 404)",
            unknown_host.clone(),
        );
        registry.register("open_tunnels", "Upgraded connections (websockets) open now", tunnels.clone());
        registry.register("backend_ejections", "Times a backend was ejected after failing", ejections.clone());
        Self { registry, requests, latency, unknown_host, tunnels, ejections }
    }
}

impl EdgeMetrics {
    /// The handles of the route of `host`, created on first use.
    pub(crate) fn route(&self, host: &str) -> Arc<RouteMetrics> {
        let by_class =
            CLASSES.map(|class| self.requests.get_or_create_owned(&RequestLabels { host: host.to_owned(), class }));
        let latency = self.latency.get_or_create_owned(&HostLabels { host: host.to_owned() });
        Arc::new(RouteMetrics { by_class, latency })
    }

    pub(crate) fn unknown_host(&self) {
        self.unknown_host.inc();
    }

    pub(crate) fn tunnel_opened(&self) -> TunnelGauge {
        self.tunnels.inc();
        TunnelGauge(self.tunnels.clone())
    }

    pub(crate) fn ejected(&self) {
        self.ejections.inc();
    }

    /// The metrics in the Prometheus text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Counts an open tunnel until dropped.
#[derive(Debug)]
pub(crate) struct TunnelGauge(Gauge);

impl Drop for TunnelGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_by_class_and_latency_by_host() {
        let metrics = EdgeMetrics::default();
        let route = metrics.route("app.test");
        route.record(200, Duration::from_millis(3));
        route.record(204, Duration::from_millis(3));
        route.record(502, Duration::from_secs(1));
        metrics.unknown_host();
        let gauge = metrics.tunnel_opened();
        let text = metrics.render();
        assert!(text.contains(r#"slipway_edge_requests_total{host="app.test",class="2xx"} 2"#), "{text}");
        assert!(text.contains(r#"slipway_edge_requests_total{host="app.test",class="5xx"} 1"#), "{text}");
        assert!(text.contains(r#"slipway_edge_request_duration_seconds_count{host="app.test"} 3"#), "{text}");
        assert!(
            text.contains(r#"slipway_edge_request_duration_seconds_bucket{le="0.004",host="app.test"} 2"#),
            "{text}"
        );
        assert!(text.contains("slipway_edge_unknown_host_requests_total 1"), "{text}");
        assert!(text.contains("slipway_edge_open_tunnels 1"), "{text}");
        drop(gauge);
        assert!(metrics.render().contains("slipway_edge_open_tunnels 0"));
    }
}
