//! How commands print: a table for people, JSON for scripts.

use serde::Serialize;

/// The output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns.
    #[default]
    Table,
    /// The API's objects as JSON: an array for lists, an object otherwise.
    Json,
}

/// The `--output` flag, shared by every command group that prints resources.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// A list of resources: a table with `header`, one row per item via `row`, or
/// `empty` when there are none; or a JSON array of the items.
pub fn list<T: Serialize>(
    output: Output,
    items: &[T],
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
    empty: &str,
) -> anyhow::Result<()> {
    match output {
        Output::Json => json(&items),
        Output::Table if items.is_empty() => emit(empty),
        Output::Table => emit(&table(header, items.iter().map(row))),
    }
}

/// Aligned columns under an upper-case `header`, without borders, lines
/// trimmed at the end.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    let text = table.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n")
}

/// One resource a command acted on: `message` for people, the object as JSON.
pub fn one<T: Serialize>(output: Output, item: &T, message: &str) -> anyhow::Result<()> {
    match output {
        Output::Json => json(item),
        Output::Table => emit(message),
    }
}

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value)?)
}

/// Prints `value` as JSON on one line (a stream of objects, one a line).
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string(value)?)
}

/// Prints `text` and a newline. A closed pipe (`slipway ... | head`) is not
/// an error: the reader has what it wanted.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write the output"))
        }
        _ => Ok(()),
    }
}

/// The wire name of an enum value (`STAGING`), in lower case for tables.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    state(value).to_lowercase()
}

/// The wire name of an enum value as the API writes it (`UP_TO_DATE`): for
/// states, which read best as the API and the docs spell them.
pub fn state<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("?"),
    }
}

/// A moment for tables: `2026-05-04 13:02:11` (UTC).
pub fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A duration for people: `42s`, `3m05s`, `2h03m`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// Seconds from an ISO 8601 duration of whole seconds (`PT1M5S`), as the
/// history endpoints write them.
pub fn iso_seconds(iso: &str) -> Option<i64> {
    let rest = iso.strip_prefix("PT")?;
    let (mut total, mut number) = (0i64, String::new());
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'H' | 'M' | 'S' => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += n * match c {
                    'H' => 3600,
                    'M' => 60,
                    _ => 1,
                };
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(total)
}

/// The first 8 characters of a commit or an id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(42), "42s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(7385), "2h03m");
    }

    #[test]
    fn iso_durations_parse() {
        assert_eq!(iso_seconds("PT0S"), Some(0));
        assert_eq!(iso_seconds("PT1M5S"), Some(65));
        assert_eq!(iso_seconds("PT2H3S"), Some(7203));
        assert_eq!(iso_seconds("P1D"), None);
        assert_eq!(iso_seconds("PT5"), None);
    }

    #[test]
    fn tables_align_and_trim() {
        let text = table(&["name", "state"], [vec!["web".into(), "DEPLOYED".into()]]);
        assert_eq!(text, "NAME   STATE\nweb    DEPLOYED");
    }
}
