//! Resource usage from the engine's stats.
//!
//! CPU is a rate: CPU time used between two samples over the wall time
//! between them, in millicores. Docker's non-streaming stats carry both
//! samples (`precpu_stats`, taken about a second earlier); Podman's carry
//! only one, so the driver takes a second one itself.

use std::time::{Duration, Instant};

use bollard::models::{ContainerCpuStats, ContainerStatsResponse};
use bollard::query_parameters::StatsOptions;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use slipway_runtime::{Result, RuntimeError, Usage};

use crate::DockerRuntime;
use crate::errors::is_not_found;
use crate::instances::parse_time;

/// The gap between the two samples the driver takes itself.
const SAMPLE_GAP: Duration = Duration::from_millis(500);

/// One reading of an instance's cumulative CPU time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CpuSample {
    /// CPU time used since the instance started, in nanoseconds.
    pub total_ns: u64,
    /// When the engine read it.
    pub read: Option<DateTime<Utc>>,
}

impl CpuSample {
    /// `None` when the engine sent no reading (Podman's empty `precpu_stats`).
    pub(crate) fn of(cpu: Option<&ContainerCpuStats>, read: Option<&str>) -> Option<Self> {
        let total_ns = cpu?.cpu_usage.as_ref()?.total_usage.filter(|t| *t > 0)?;
        Some(Self { total_ns, read: parse_time(read) })
    }
}

/// Millicores used between two samples; `measured` is the wall time between
/// them as the driver saw it, used when the engine's timestamps are missing.
pub(crate) fn millicores(before: CpuSample, after: CpuSample, measured: Duration) -> f64 {
    let wall_ns = match (before.read, after.read) {
        (Some(b), Some(a)) => {
            (a - b).num_nanoseconds().filter(|n| *n > 0).map_or(measured.as_nanos() as f64, |n| n as f64)
        }
        _ => measured.as_nanos() as f64,
    };
    if wall_ns <= 0.0 {
        return 0.0;
    }
    after.total_ns.saturating_sub(before.total_ns) as f64 / wall_ns * 1000.0
}

/// Memory in use the way `docker stats` and the kubelet count it: usage
/// without the inactive page cache, which the kernel reclaims first.
pub(crate) fn working_set_bytes(stats: &ContainerStatsResponse) -> u64 {
    let Some(memory) = stats.memory_stats.as_ref() else { return 0 };
    let usage = memory.usage.unwrap_or_default();
    let inactive = memory.stats.as_ref().and_then(|s| s.get("total_inactive_file").or_else(|| s.get("inactive_file")));
    usage.saturating_sub(inactive.copied().unwrap_or_default())
}

impl DockerRuntime {
    async fn stats_once(&self, id: &str) -> Result<ContainerStatsResponse> {
        let options = StatsOptions { stream: false, one_shot: false };
        let mut stream = self.docker.stats(id, Some(options));
        match stream.next().await {
            Some(Ok(stats)) => Ok(stats),
            Some(Err(e)) if is_not_found(&e) => Err(RuntimeError::NotFound(format!("instance {id}"))),
            Some(Err(e)) => Err(self.error(e)),
            None => Err(RuntimeError::Engine(format!("the engine sent no stats for {id}"))),
        }
    }

    pub(crate) async fn usage_impl(&self, id: &str) -> Result<Usage> {
        let first_at = Instant::now();
        let first = self.stats_once(id).await?;
        let memory_bytes = working_set_bytes(&first);
        let current = CpuSample::of(first.cpu_stats.as_ref(), first.read.as_deref());
        let previous = CpuSample::of(first.precpu_stats.as_ref(), first.preread.as_deref());
        let cpu_millis = match (previous, current) {
            // Docker: both samples in one answer.
            (Some(before), Some(after)) if before.read.is_some() && after.read.is_some() => {
                millicores(before, after, Duration::ZERO)
            }
            // Podman: one sample per answer; take another.
            (_, Some(before)) => {
                tokio::time::sleep(SAMPLE_GAP).await;
                let second = self.stats_once(id).await?;
                match CpuSample::of(second.cpu_stats.as_ref(), second.read.as_deref()) {
                    Some(after) => millicores(before, after, first_at.elapsed()),
                    None => 0.0,
                }
            }
            // Not running: no CPU in use.
            (_, None) => 0.0,
        };
        Ok(Usage { cpu_millis, memory_bytes })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::{ContainerCpuUsage, ContainerMemoryStats};

    use super::*;

    fn cpu(total: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage { total_usage: Some(total), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_rate_from_two_samples() {
        let before = CpuSample::of(Some(&cpu(1_000_000_000)), Some("2026-11-22T00:00:00Z")).unwrap();
        let after = CpuSample::of(Some(&cpu(1_500_000_000)), Some("2026-11-22T00:00:01Z")).unwrap();
        // Half a second of CPU in one second: 500 millicores.
        assert!((millicores(before, after, Duration::ZERO) - 500.0).abs() < 1e-9);
        // Without timestamps, the measured gap counts.
        let before = CpuSample { read: None, ..before };
        assert!((millicores(before, after, Duration::from_millis(250)) - 2000.0).abs() < 1e-9);
        assert_eq!(millicores(before, after, Duration::ZERO), 0.0);
    }

    #[test]
    fn empty_samples_are_absent() {
        assert_eq!(CpuSample::of(None, None), None);
        assert_eq!(CpuSample::of(Some(&cpu(0)), Some("2026-11-22T00:00:00Z")), None);
        assert_eq!(CpuSample::of(Some(&ContainerCpuStats::default()), None), None);
        let zero_time = CpuSample::of(Some(&cpu(5)), Some("0001-01-01T00:00:00Z")).unwrap();
        assert_eq!(zero_time.read, None);
    }

    #[test]
    fn memory_without_inactive_cache() {
        let stats = |entries: &[(&str, u64)]| ContainerStatsResponse {
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(10_000),
                stats: Some(entries.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect::<HashMap<_, _>>()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(working_set_bytes(&stats(&[("total_inactive_file", 4_000)])), 6_000);
        assert_eq!(working_set_bytes(&stats(&[("inactive_file", 1_000)])), 9_000);
        assert_eq!(working_set_bytes(&stats(&[])), 10_000);
        assert_eq!(working_set_bytes(&ContainerStatsResponse::default()), 0);
    }
}
