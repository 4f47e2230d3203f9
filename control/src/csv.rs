//! CSV as RFC 4180 has it, for exports people open in a spreadsheet.

/// One field of a CSV line, quoted when it must be.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
