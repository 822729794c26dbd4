//! CSV exports (the audit trail, the self-inspection report), written the
//! way a government office's Excel opens them: UTF-8 with a BOM, CRLF line
//! ends, fields quoted when they hold a comma, a quote or a line break.
//!
//! Cells come from people (titles, 退文 reasons, 公开 basis): a cell that a
//! spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a tab or
//! carriage return before one) gets a leading `'`, so opening the export
//! shows the text and never runs it (CSV injection, CWE-1236).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A CSV document under construction.
pub struct Csv(String);

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut csv = Csv(String::from("\u{feff}"));
        csv.row(header);
        csv
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) {
        let cells: Vec<String> = fields
            .iter()
            .map(|f| {
                let f = defuse(f.as_ref());
                if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.into_owned() }
            })
            .collect();
        self.0.push_str(&cells.join(","));
        self.0.push_str("\r\n");
    }

    /// The text of the export, as it will be downloaded.
    #[cfg(test)]
    fn text(&self) -> &str {
        &self.0
    }

    /// The download, named `file_name`.
    pub fn into_response(self, file_name: &str) -> Response {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\""))],
            self.0,
        )
            .into_response()
    }
}

/// Spreadsheets start a formula at `=`, `+`, `-` or `@`, also after leading
/// tabs, carriage returns or line feeds. A cell starting so is prefixed
/// with `'`, which Excel and WPS show as plain text and do not display.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    let first = cell.trim_start_matches(['\t', '\r', '\n', ' ']).chars().next();
    if matches!(first, Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠')) || cell.starts_with(['\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::Csv;

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_shown_as_text() {
        let mut csv = Csv::new(&["a"]);
        for cell in ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", " =cmd|' /C calc'!A0", "＝1+1"] {
            csv.row(&[cell]);
        }
        csv.row(&["海政办发〔2017〕37号", "2026-01-01", "普通 - 标题"]);
        let lines: Vec<&str> = csv.text().trim_start_matches('\u{feff}').split("\r\n").collect();
        for line in &lines[1..8] {
            assert!(line.starts_with('\'') || line.starts_with("\"'"), "not defused: {line}");
        }
        assert_eq!(lines[8], "海政办发〔2017〕37号,2026-01-01,普通 - 标题", "ordinary cells are untouched");
    }
}
