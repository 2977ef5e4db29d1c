//! Instance output as a stream of [`LogLine`]s.
//!
//! The engine sends frames, not lines: one frame may hold several lines, and
//! a long line arrives in several frames, each with its own timestamp prefix.
//! [`LineAssembler`] turns frames back into lines per stream.

use std::collections::VecDeque;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use slipway_runtime::{LogLine, LogLines, LogOptions, LogStream, Result, RuntimeError};

use crate::DockerRuntime;

/// A followed log ends when the instance stops, however long that takes.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Splits a line the engine prefixed with its RFC 3339 timestamp.
pub(crate) fn split_timestamp(line: &str) -> (Option<DateTime<Utc>>, &str) {
    if let Some((first, rest)) = line.split_once(' ')
        && let Ok(time) = DateTime::parse_from_rfc3339(first)
    {
        return (Some(time.with_timezone(&Utc)), rest);
    }
    match DateTime::parse_from_rfc3339(line) {
        Ok(time) => (Some(time.with_timezone(&Utc)), ""),
        Err(_) => (None, line),
    }
}

/// Reassembles lines from timestamped frames, one buffer per stream.
#[derive(Debug, Default)]
pub(crate) struct LineAssembler {
    /// Incomplete line per stream, with the timestamp of its first frame.
    pending: [Option<(Option<DateTime<Utc>>, String)>; 2],
    /// Lines before this time are dropped (the engine's `since` is whole seconds).
    since: Option<DateTime<Utc>>,
}

impl LineAssembler {
    pub(crate) fn new(since: Option<DateTime<Utc>>) -> Self {
        Self { pending: [None, None], since }
    }

    fn slot(stream: LogStream) -> usize {
        match stream {
            LogStream::Stdout => 0,
            LogStream::Stderr => 1,
        }
    }

    /// Feeds one frame; returns the lines it completed.
    pub(crate) fn push(&mut self, stream: LogStream, frame: &[u8]) -> Vec<LogLine> {
        let text = String::from_utf8_lossy(frame);
        let mut lines = Vec::new();
        let mut rest: &str = &text;
        while !rest.is_empty() {
            let (piece, complete, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, ""),
            };
            rest = next;
            let (timestamp, piece) = split_timestamp(piece);
            let (timestamp, mut line) = match self.pending[Self::slot(stream)].take() {
                Some((first, mut start)) => {
                    start.push_str(piece);
                    (first.or(timestamp), start)
                }
                None => (timestamp, piece.to_owned()),
            };
            if !complete {
                self.pending[Self::slot(stream)] = Some((timestamp, line));
                continue;
            }
            if line.ends_with('\r') {
                line.pop();
            }
            self.emit(&mut lines, stream, timestamp, line);
        }
        lines
    }

    /// The incomplete lines left when the stream ends.
    pub(crate) fn finish(&mut self) -> Vec<LogLine> {
        let mut lines = Vec::new();
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            if let Some((timestamp, line)) = self.pending[Self::slot(stream)].take() {
                self.emit(&mut lines, stream, timestamp, line);
            }
        }
        lines
    }

    fn emit(&self, lines: &mut Vec<LogLine>, stream: LogStream, timestamp: Option<DateTime<Utc>>, line: String) {
        let too_old = matches!((self.since, timestamp), (Some(since), Some(t)) if t < since);
        if !too_old {
            lines.push(LogLine { stream, timestamp, line });
        }
    }
}

impl DockerRuntime {
    pub(crate) async fn logs_impl(&self, id: &str, options: LogOptions) -> Result<LogLines> {
        // Fail now for a missing instance rather than as the stream's first item.
        if self.inspect_impl(id).await?.is_none() {
            return Err(RuntimeError::NotFound(format!("instance {id}")));
        }
        let query = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            // Whole seconds for the engine; `LineAssembler` drops the rest precisely.
            since: options.since.map_or(0, |t| i32::try_from(t.timestamp()).unwrap_or(0)),
            until: 0,
            timestamps: true,
            tail: options.tail.map_or_else(|| "all".to_owned(), |n| n.to_string()),
        };
        let client = if options.follow { self.patient(FOLLOW_TIMEOUT) } else { self.docker.clone() };
        let endpoint = self.endpoint.clone();
        let frames = client.logs(id, Some(query));
        let state = (frames.boxed(), LineAssembler::new(options.since), VecDeque::<Result<LogLine>>::new(), false);
        let lines = futures_util::stream::unfold(state, move |(mut frames, mut assembler, mut ready, mut done)| {
            let endpoint = endpoint.clone();
            async move {
                loop {
                    if let Some(line) = ready.pop_front() {
                        return Some((line, (frames, assembler, ready, done)));
                    }
                    if done {
                        return None;
                    }
                    match frames.next().await {
                        Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                            ready.extend(assembler.push(LogStream::Stdout, &message).into_iter().map(Ok));
                        }
                        Some(Ok(LogOutput::StdErr { message })) => {
                            ready.extend(assembler.push(LogStream::Stderr, &message).into_iter().map(Ok));
                        }
                        Some(Ok(LogOutput::StdIn { .. })) => {}
                        Some(Err(e)) => {
                            ready.extend(assembler.finish().into_iter().map(Ok));
                            ready.push_back(Err(crate::errors::map(&endpoint, e)));
                            done = true;
                        }
                        None => {
                            ready.extend(assembler.finish().into_iter().map(Ok));
                            done = true;
                        }
                    }
                }
            }
        });
        Ok(Box::pin(lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(out: &[LogLine]) -> Vec<(&str, Option<String>)> {
        out.iter().map(|l| (l.line.as_str(), l.timestamp.map(|t| t.to_rfc3339()))).collect()
    }

    #[test]
    fn timestamps_are_split_off() {
        let (t, line) = split_timestamp("2026-11-22T03:13:35.713660424Z hello world");
        assert_eq!(line, "hello world");
        assert_eq!(t.unwrap().to_rfc3339(), "2026-11-22T03:13:35.713660424+00:00");
        assert_eq!(split_timestamp("no timestamp here"), (None, "no timestamp here"));
        assert_eq!(split_timestamp("2026-11-22T03:13:35Z").1, "");
    }

    #[test]
    fn frames_become_lines() {
        let mut a = LineAssembler::new(None);
        let out = a.push(LogStream::Stdout, b"2026-11-22T00:00:01Z one\n2026-11-22T00:00:02Z two\r\n");
        assert_eq!(
            lines(&out),
            [("one", Some("2026-11-22T00:00:01+00:00".into())), ("two", Some("2026-11-22T00:00:02+00:00".into()))]
        );
        // A long line in two frames, each with its own timestamp.
        assert!(a.push(LogStream::Stderr, b"2026-11-22T00:00:03Z first half ").is_empty());
        assert!(a.push(LogStream::Stdout, b"2026-11-22T00:00:04Z other").is_empty());
        let out = a.push(LogStream::Stderr, b"2026-11-22T00:00:05Z second half\n");
        assert_eq!(lines(&out), [("first half second half", Some("2026-11-22T00:00:03+00:00".into()))]);
        assert_eq!(out[0].stream, LogStream::Stderr);
        let out = a.finish();
        assert_eq!(lines(&out), [("other", Some("2026-11-22T00:00:04+00:00".into()))]);
        assert!(a.finish().is_empty());
    }

    #[test]
    fn empty_lines_survive_and_since_filters() {
        let since = DateTime::parse_from_rfc3339("2026-11-22T00:00:01.5Z").unwrap().with_timezone(&Utc);
        let mut a = LineAssembler::new(Some(since));
        let out =
            a.push(LogStream::Stdout, b"2026-11-22T00:00:01Z old\n2026-11-22T00:00:02Z \n2026-11-22T00:00:03Z new\n");
        assert_eq!(lines(&out).iter().map(|l| l.0).collect::<Vec<_>>(), ["", "new"]);
        // A line stamped exactly at `since` is kept, as the engines do.
        let mut a = LineAssembler::new(Some(since));
        assert_eq!(a.push(LogStream::Stdout, b"2026-11-22T00:00:01.5Z at\n").len(), 1);
    }
}
