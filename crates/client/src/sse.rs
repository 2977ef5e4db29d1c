//! Server-sent events: the `text/event-stream` format, parsed incrementally
//! from the bytes of a response as they arrive.
//!
//! The format (WHATWG HTML, "Server-sent events"): UTF-8 lines ending in
//! `\n`, `\r\n` or `\r`; `field: value` lines (one optional space after the
//! colon); lines starting with `:` are comments (keep-alives); a blank line
//! dispatches the event. `data` lines accumulate, joined with `\n`; an event
//! without data is not dispatched; the event name defaults to `message`.

use std::collections::VecDeque;

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event's name (`event:`), `message` when it has none.
    pub event: String,
    /// Its data: the `data:` lines joined with `\n`.
    pub data: String,
    /// Its `id:`, when it has one.
    pub id: Option<String>,
}

/// An incremental parser: feed it chunks, take complete events.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one
    /// belongs to the same line ending.
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    ready: VecDeque<SseEvent>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Takes in the next bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&String::from_utf8_lossy(&line));
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(b);
                }
            }
        }
    }

    /// The next complete event, if any.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    fn line_done(&mut self, line: &str) {
        if line.is_empty() {
            self.dispatch();
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            // `retry` and unknown fields: ignored.
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        let event = self.event.take();
        let id = self.id.clone();
        if let Some(data) = self.data.take() {
            let event = event.filter(|e| !e.is_empty()).unwrap_or_else(|| "message".to_owned());
            self.ready.push_back(SseEvent { event, data, id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk);
            while let Some(e) = parser.next_event() {
                out.push(e);
            }
        }
        out
    }

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent { event: name.to_owned(), data: data.to_owned(), id: None }
    }

    #[test]
    fn parses_named_events_and_skips_comments() {
        let got = events(&[b": keep-alive\n\nevent: log\ndata: {\"a\":1}\n\nevent: end\ndata: done\n\n"]);
        assert_eq!(got, vec![event("log", "{\"a\":1}"), event("end", "done")]);
    }

    #[test]
    fn events_may_be_split_anywhere_between_chunks() {
        let text = b"event: deployment\r\ndata: {\"x\": \"y\"}\r\n\r\nevent:log\ndata:two\n\n";
        let whole = events(&[text]);
        for split in 1..text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(events(&[a, b]), whole, "split at {split}");
        }
        assert_eq!(whole, vec![event("deployment", "{\"x\": \"y\"}"), event("log", "two")]);
    }

    #[test]
    fn joins_data_lines_and_defaults_the_name() {
        let got = events(&[b"data: one\ndata: two\nid: 7\n\ndata\n\n"]);
        assert_eq!(got[0], SseEvent { event: "message".into(), data: "one\ntwo".into(), id: Some("7".into()) });
        assert_eq!(got[1].data, "");
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        assert_eq!(events(&[b"event: ping\n\n"]), Vec::new());
        // Nor one that never ends.
        assert_eq!(events(&[b"event: log\ndata: half"]), Vec::new());
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        assert_eq!(events(&[b"event: a\rdata: b\r\r"]), vec![event("a", "b")]);
    }
}
