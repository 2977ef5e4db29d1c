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
        Output::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::NOTHING);
            table.set_header(header.iter().map(|h| h.to_uppercase()));
            for item in items {
                table.add_row(row(item));
            }
            for column in table.column_iter_mut() {
                column.set_padding((0, 3));
            }
            let text = table.to_string();
            let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
            emit(&lines.join("\n"))
        }
    }
}

/// One resource a command acted on: `message` for people, the object as JSON.
pub fn one<T: Serialize>(output: Output, item: &T, message: &str) -> anyhow::Result<()> {
    match output {
        Output::Json => json(item),
        Output::Table => emit(message),
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value)?)
}

/// Prints `text` and a newline. A closed pipe (`slipway ... | head`) is not
/// an error: the reader has what it wanted.
fn emit(text: &str) -> anyhow::Result<()> {
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
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s.to_lowercase(),
        _ => String::from("?"),
    }
}
