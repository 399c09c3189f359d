//! Results go to stdout (aligned text or JSON); everything else goes to stderr through `tracing`.

use crate::args::OutputFormat;
use comfy_table::{presets::NOTHING, CellAlignment, ContentArrangement, Table as Grid};
use serde::Serialize;
use std::io::{self, Write};

/// A table of results: a header row and rows of cells (`-` stands for an empty cell, as in Asiaq).
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(headers: I) -> Self {
        Self { headers: headers.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row.
    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The aligned text, one line per row, header first; no trailing blanks.
    pub fn render(&self) -> String {
        let mut grid = Grid::new();
        grid.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Disabled);
        grid.set_header(self.headers.clone());
        for row in &self.rows {
            grid.add_row(row.iter().map(|c| if c.is_empty() { "-".to_string() } else { c.clone() }));
        }
        for column in grid.column_iter_mut() {
            column.set_cell_alignment(CellAlignment::Left);
            column.set_padding((0, 2));
        }
        grid.lines().map(|l| l.trim_end().to_string()).collect::<Vec<_>>().join("\n")
    }
}

/// Writes results in the chosen format. Write errors other than a broken pipe are reported; a broken
/// pipe ends output quietly (the reader went away, which is not our failure).
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// The format chosen with `--output`.
    pub format: OutputFormat,
}

impl Printer {
    /// A printer for `format`.
    pub fn new(format: OutputFormat) -> Self {
        Self { format }
    }

    /// True for `--output json`.
    pub fn json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.line(&text)
    }

    /// Prints `table` (text mode), or `json` in JSON mode.
    pub fn print<T: Serialize + ?Sized>(&self, table: &Table, json: &T) -> io::Result<()> {
        if self.json() {
            self.print_json(json)
        } else if table.is_empty() {
            Ok(())
        } else {
            self.line(&table.render())
        }
    }

    /// Prints one line (or block) of text to stdout.
    pub fn line(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        match writeln!(out, "{text}").and_then(|()| out.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned_and_marks_empty_cells() {
        let mut t = Table::new(["ID", "NAME"]);
        t.row(["vpc-1", "ci"]);
        t.row(["vpc-22222", ""]);
        assert_eq!(t.render(), "ID         NAME\nvpc-1      ci\nvpc-22222  -");
    }
}
