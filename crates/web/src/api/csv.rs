//! CSV exports (the audit trail, the self-inspection report), written the
//! way a government office's Excel opens them: UTF-8 with a BOM, CRLF line
//! ends, fields quoted when they hold a comma, a quote or a line break.

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
                let f = f.as_ref();
                if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.to_string() }
            })
            .collect();
        self.0.push_str(&cells.join(","));
        self.0.push_str("\r\n");
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
