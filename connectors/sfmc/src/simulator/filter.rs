//! The rowset `$filter` language, as far as the simulator understands it: comparisons
//! `Column op value` with `eq`, `ne`, `gt`, `ge`, `lt`, `le` and `like` (`%` and `_`
//! wildcards), string literals in single quotes (a quote inside doubled) or bare numbers and
//! words, combined with `and`, `or` and parentheses (`and` binds tighter). Column names and
//! keywords are case-insensitive.
//!
//! Comparisons follow the data extension's SQL Server collation: case-insensitive, trailing
//! spaces ignored, and an empty column (NULL) matches nothing.

use std::collections::BTreeSet;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    /// `column op value`; the column lower-cased.
    Cmp {
        column: String,
        op: Op,
        value: String,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Str(String),
    Word(String),
}

fn tokens(input: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => s.push(c),
                        None => return Err("unterminated string literal".to_owned()),
                    }
                }
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '\'') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    columns: &'a [&'a str],
}

impl Parser<'_> {
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.at), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and_expr()?];
        while self.peek_keyword("or") {
            self.at += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.primary()?];
        while self.peek_keyword("and") {
            self.at += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.at).cloned() {
            Some(Tok::Open) => {
                self.at += 1;
                let e = self.or_expr()?;
                if self.toks.get(self.at) != Some(&Tok::Close) {
                    return Err("missing `)`".to_owned());
                }
                self.at += 1;
                Ok(e)
            }
            Some(Tok::Word(column)) => {
                self.at += 1;
                let lower = column.to_lowercase();
                if !self.columns.contains(&lower.as_str()) {
                    return Err(format!("Invalid column name '{column}'"));
                }
                let op = match self.toks.get(self.at) {
                    Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "eq" => Op::Eq,
                        "ne" | "neq" => Op::Ne,
                        "gt" => Op::Gt,
                        "ge" | "gte" => Op::Ge,
                        "lt" => Op::Lt,
                        "le" | "lte" => Op::Le,
                        "like" => Op::Like,
                        other => return Err(format!("unknown operator `{other}`")),
                    },
                    _ => return Err(format!("expected an operator after `{column}`")),
                };
                self.at += 1;
                let value = match self.toks.get(self.at) {
                    Some(Tok::Str(s)) => s.clone(),
                    Some(Tok::Word(w)) if !["and", "or"].contains(&w.to_lowercase().as_str()) => {
                        w.clone()
                    }
                    _ => return Err(format!("expected a value after `{column}`")),
                };
                self.at += 1;
                Ok(Expr::Cmp {
                    column: lower,
                    op,
                    value,
                })
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the filter ends too early".to_owned()),
        }
    }
}

/// Parses `input`, whose columns must be among `columns` (lower-case).
pub(crate) fn parse(input: &str, columns: &[&str]) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokens(input)?,
        at: 0,
        columns,
    };
    if p.toks.is_empty() {
        return Err("empty filter".to_owned());
    }
    let e = p.or_expr()?;
    if p.at != p.toks.len() {
        return Err(format!(
            "unexpected text after the filter ({:?})",
            p.toks[p.at]
        ));
    }
    Ok(e)
}

/// Text as the collation compares it.
fn fold(s: &str) -> String {
    s.trim_end_matches(' ').to_lowercase()
}

/// `%`/`_` pattern matching on folded text.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // dp[j]: the first i characters of `t` match the first j of `p`.
    let mut dp = vec![false; p.len() + 1];
    dp[0] = true;
    for j in 1..=p.len() {
        dp[j] = dp[j - 1] && p[j - 1] == '%';
    }
    for c in &t {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                '%' => next[j - 1] || dp[j],
                '_' => dp[j - 1],
                pc => dp[j - 1] && pc == *c,
            };
        }
        dp = next;
    }
    dp[p.len()]
}

impl Expr {
    /// Whether a row whose column values `get` returns (empty = NULL) satisfies the filter.
    pub(crate) fn eval(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Expr::And(parts) => parts.iter().all(|p| p.eval(get)),
            Expr::Or(parts) => parts.iter().any(|p| p.eval(get)),
            Expr::Cmp { column, op, value } => {
                let Some(have) = get(column).filter(|v| !v.is_empty()) else {
                    return false;
                };
                let (a, b) = (fold(&have), fold(value));
                match op {
                    Op::Eq => a == b,
                    Op::Ne => a != b,
                    Op::Gt => a > b,
                    Op::Ge => a >= b,
                    Op::Lt => a < b,
                    Op::Le => a <= b,
                    Op::Like => like(&a, &b),
                }
            }
        }
    }

    /// The rows an index can narrow the filter to: `lookup(column, value)` answers an `eq`
    /// on an indexed column (`None` if the column has no index). `None` when the filter
    /// cannot be answered without reading every row.
    pub(crate) fn candidates(
        &self,
        lookup: &dyn Fn(&str, &str) -> Option<Option<u32>>,
    ) -> Option<BTreeSet<u32>> {
        match self {
            Expr::Cmp {
                column,
                op: Op::Eq,
                value,
            } => lookup(column, value).map(|hit| hit.into_iter().collect()),
            Expr::Cmp { .. } => None,
            Expr::Or(parts) => {
                let mut all = BTreeSet::new();
                for p in parts {
                    all.extend(p.candidates(lookup)?);
                }
                Some(all)
            }
            Expr::And(parts) => parts
                .iter()
                .filter_map(|p| p.candidates(lookup))
                .reduce(|a, b| a.intersection(&b).copied().collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[&str] = &["email", "customernumber", "country"];

    fn cmp(column: &str, op: Op, value: &str) -> Expr {
        Expr::Cmp {
            column: column.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn or_chains_and_precedence_parse() {
        assert_eq!(
            parse(
                "Email eq 'a@x.dk' or CustomerNumber EQ 'C1' and Country eq DK",
                COLS
            ),
            Ok(Expr::Or(vec![
                cmp("email", Op::Eq, "a@x.dk"),
                Expr::And(vec![
                    cmp("customernumber", Op::Eq, "C1"),
                    cmp("country", Op::Eq, "DK")
                ]),
            ]))
        );
        assert_eq!(
            parse("(Email eq 'o''neil@x.dk')", COLS),
            Ok(cmp("email", Op::Eq, "o'neil@x.dk"))
        );
    }

    #[test]
    fn bad_filters_say_why() {
        for bad in [
            "",
            "Email",
            "Email eq",
            "Email in ('a')",
            "Nope eq 'x'",
            "Email eq 'x",
            "(Email eq 'x'",
            "Email eq 'x' Country",
        ] {
            assert!(parse(bad, COLS).is_err(), "{bad}");
        }
        assert_eq!(
            parse("Phone eq '1'", COLS),
            Err("Invalid column name 'Phone'".to_owned())
        );
    }

    #[test]
    fn comparisons_follow_a_case_insensitive_collation() {
        let row = |c: &str| match c {
            "email" => Some("Anna@Example.DK ".to_owned()),
            "country" => Some(String::new()),
            _ => None,
        };
        let e = |f: &str| parse(f, COLS).expect("parses").eval(&row);
        assert!(e("Email eq 'anna@example.dk'"));
        assert!(e("Email like '%@example.%'"));
        assert!(e("Email like 'ann_@%'"));
        assert!(!e("Email like 'ann@%'"));
        assert!(!e("Country eq ''"), "an empty column is NULL");
        assert!(!e("Country ne 'DK'"), "NULL compares with nothing");
        assert!(e("Email ne 'x' and Email gt 'a'"));
    }

    #[test]
    fn indexes_narrow_or_and_and() {
        let lookup = |c: &str, v: &str| match c {
            "customernumber" => Some(v.strip_prefix('C').and_then(|n| n.parse().ok())),
            _ => None,
        };
        let c = |f: &str| parse(f, COLS).expect("parses").candidates(&lookup);
        assert_eq!(
            c("CustomerNumber eq 'C1' or CustomerNumber eq 'C7' or CustomerNumber eq 'X'"),
            Some([1, 7].into())
        );
        assert_eq!(
            c("CustomerNumber eq 'C1' and Email eq 'a'"),
            Some([1].into())
        );
        assert_eq!(c("CustomerNumber eq 'C1' or Email eq 'a'"), None);
        assert_eq!(c("Email like '%'"), None);
    }
}
