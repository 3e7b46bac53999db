//! Turns configuration problems into `line:col: key: message` by finding the key in the file's
//! text, so `samlet check` points at the line to change.

use std::fmt;

/// A problem at a position in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// The dotted key, e.g. `connectors.crm.client_id` (empty for the whole file).
    pub key: String,
    /// What is wrong and what to write.
    pub message: String,
}

impl Located {
    /// A problem at a known position.
    pub fn at(line: usize, col: usize, key: &str, message: impl Into<String>) -> Located {
        Located {
            line,
            col,
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}:{}: {}", self.line, self.col, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.line, self.col, self.key, self.message
            )
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A TOML syntax or shape error, at the position the parser reports.
pub fn parse_error(text: &str, e: &toml::de::Error) -> Located {
    let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
    let key = e
        .message()
        .split('`')
        .nth(1)
        .filter(|_| e.message().starts_with("unknown field"))
        .unwrap_or("");
    Located::at(line, col, key, e.message().trim().replace('\n', " "))
}

/// Header text of a table line, e.g. `connectors.crm` for `[connectors.crm]`.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?.split(']').next()?;
    Some(
        inner
            .trim_matches('[')
            .split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join("."),
    )
}

fn key_of(line: &str) -> Option<&str> {
    let (k, _) = line.split_once('=')?;
    Some(k.trim().trim_matches('"'))
}

/// The position of the dotted `path` in `text`: the key's line inside its table, else the
/// table's header, else the first line.
pub fn key(text: &str, path: &[String], message: &str) -> Located {
    let dotted = path.join(".");
    let lines: Vec<&str> = text.lines().collect();
    for split in (0..=path.len()).rev() {
        let table = path[..split].join(".");
        let rest = path[split..].join(".");
        // Find the table's section: from its header (or the file's start for the root table)
        // to the next header.
        let start = if table.is_empty() {
            Some(0)
        } else {
            lines
                .iter()
                .position(|l| header(l).as_deref() == Some(table.as_str()))
                .map(|i| i + 1)
        };
        let Some(start) = start else { continue };
        if rest.is_empty() {
            return Located::at(start.max(1), 1, &dotted, message);
        }
        for (i, l) in lines.iter().enumerate().skip(start) {
            if header(l).is_some() {
                break;
            }
            if key_of(l) == Some(rest.as_str()) {
                let col = l.len() - l.trim_start().len() + 1;
                return Located::at(i + 1, col, &dotted, message);
            }
        }
    }
    Located::at(1, 1, &dotted, message)
}
