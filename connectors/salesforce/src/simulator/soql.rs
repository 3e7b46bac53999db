//! The SOQL subset the simulator understands:
//!
//! ```text
//! SELECT field, field, Rel__r.field FROM Object
//!   WHERE field IN ('a', 'b') OR field = 'c' …   (conditions joined by OR only)
//!   [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …]
//!   [LIMIT n]
//! ```
//!
//! Keywords are case-insensitive; string literals take SOQL's backslash escapes. Anything else
//! (AND, NOT, LIKE, sub-queries, no WHERE at all) is answered as Salesforce answers a query it
//! cannot parse: 400 `MALFORMED_QUERY`.

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Select {
    pub fields: Vec<String>,
    pub object: String,
    pub filters: Vec<Filter>,
    pub order: Vec<OrderBy>,
    pub limit: Option<usize>,
}

/// One `ORDER BY` key. Nulls sort first unless `NULLS LAST` says otherwise, as in SOQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderBy {
    pub field: String,
    pub descending: bool,
    pub nulls_last: bool,
}

/// `field IN (values)` or `field = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub field: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(u64),
    Open,
    Close,
    Comma,
    Eq,
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "<EOF>".into(),
        Some(Tok::Ident(s)) => format!("'{s}'"),
        Some(Tok::Str(s)) => format!("'{s}'"),
        Some(Tok::Num(n)) => n.to_string(),
        Some(Tok::Open) => "'('".into(),
        Some(Tok::Close) => "')'".into(),
        Some(Tok::Comma) => "','".into(),
        Some(Tok::Eq) => "'='".into(),
    }
}

fn lex(q: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | '=' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    ',' => Tok::Comma,
                    _ => Tok::Eq,
                });
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('r') => s.push('\r'),
                            Some('t') => s.push('\t'),
                            Some('b') => s.push('\u{8}'),
                            Some('f') => s.push('\u{c}'),
                            Some(e @ ('\'' | '"' | '\\')) => s.push(e),
                            // LIKE wildcards keep their backslash.
                            Some(e @ ('_' | '%')) => {
                                s.push('\\');
                                s.push(e);
                            }
                            other => {
                                return Err(format!(
                                    "Invalid string literal: unknown escape sequence \\{}",
                                    other.map(String::from).unwrap_or_default()
                                ))
                            }
                        },
                        Some(other) => s.push(other),
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_digit() => {
                let mut n = String::new();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(d);
                    chars.next();
                }
                out.push(Tok::Num(
                    n.parse().map_err(|_| format!("number too large: {n}"))?,
                ));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = String::new();
                while let Some(&d) = chars
                    .peek()
                    .filter(|d| d.is_ascii_alphanumeric() || **d == '_' || **d == '.')
                {
                    s.push(d);
                    chars.next();
                }
                out.push(Tok::Ident(s));
            }
            other => return Err(format!("unexpected token: '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn unexpected(&self) -> String {
        format!("unexpected token: {}", describe(self.peek()))
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn keyword(&mut self, kw: &str) -> Result<(), String> {
        if self.is_keyword(kw) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.at += 1;
                Ok(s)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn filter(&mut self) -> Result<Filter, String> {
        let field = self.ident()?;
        let values = if self.peek() == Some(&Tok::Eq) {
            self.at += 1;
            vec![self.string()?]
        } else {
            self.keyword("IN")?;
            if self.next() != Some(Tok::Open) {
                self.at -= 1;
                return Err(self.unexpected());
            }
            let mut values = vec![self.string()?];
            loop {
                match self.next() {
                    Some(Tok::Comma) => values.push(self.string()?),
                    Some(Tok::Close) => break,
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected());
                    }
                }
            }
            values
        };
        Ok(Filter { field, values })
    }
}

/// Parses a query; the error is Salesforce's `MALFORMED_QUERY` message.
pub(crate) fn parse(q: &str) -> Result<Select, String> {
    let mut p = Parser {
        toks: lex(q)?,
        at: 0,
    };
    p.keyword("SELECT")?;
    let mut fields = vec![p.ident()?];
    while p.peek() == Some(&Tok::Comma) {
        p.at += 1;
        fields.push(p.ident()?);
    }
    p.keyword("FROM")?;
    let object = p.ident()?;
    let mut filters = Vec::new();
    if p.is_keyword("WHERE") {
        p.at += 1;
        filters.push(p.filter()?);
        while p.is_keyword("OR") {
            p.at += 1;
            filters.push(p.filter()?);
        }
    }
    let mut order = Vec::new();
    if p.is_keyword("ORDER") {
        p.at += 1;
        p.keyword("BY")?;
        loop {
            let field = p.ident()?;
            let mut descending = false;
            if p.is_keyword("ASC") {
                p.at += 1;
            } else if p.is_keyword("DESC") {
                p.at += 1;
                descending = true;
            }
            let mut nulls_last = false;
            if p.is_keyword("NULLS") {
                p.at += 1;
                if p.is_keyword("LAST") {
                    nulls_last = true;
                } else if !p.is_keyword("FIRST") {
                    return Err(p.unexpected());
                }
                p.at += 1;
            }
            order.push(OrderBy {
                field,
                descending,
                nulls_last,
            });
            if p.peek() == Some(&Tok::Comma) {
                p.at += 1;
            } else {
                break;
            }
        }
    }
    let mut limit = None;
    if p.is_keyword("LIMIT") {
        p.at += 1;
        match p.next() {
            Some(Tok::Num(n)) => limit = Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                p.at -= 1;
                return Err(p.unexpected());
            }
        }
    }
    if p.peek().is_some() {
        return Err(p.unexpected());
    }
    Ok(Select {
        fields,
        object,
        filters,
        order,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connectors_queries_parse() {
        let s = parse(
            "SELECT Id, Primary_Contact__r.Email FROM Account WHERE Customer_Number__c IN ('C1','C2') \
             or Primary_Contact__r.Email = 'o\\'brien@x.dk' LIMIT 10",
        )
        .unwrap();
        assert_eq!(s.fields, ["Id", "Primary_Contact__r.Email"]);
        assert_eq!(s.object, "Account");
        assert_eq!(s.filters[0].values, ["C1", "C2"]);
        assert_eq!(s.filters[1].values, ["o'brien@x.dk"]);
        assert_eq!(s.limit, Some(10));
    }

    #[test]
    fn order_by_takes_directions_and_null_placement() {
        let s = parse(
            "SELECT Id FROM Wishlist_Item__c WHERE Customer_Number__c = 'C1' \
             ORDER BY Added_At__c, Id DESC NULLS LAST LIMIT 5",
        )
        .unwrap();
        assert_eq!(
            s.order,
            [
                OrderBy {
                    field: "Added_At__c".into(),
                    descending: false,
                    nulls_last: false
                },
                OrderBy {
                    field: "Id".into(),
                    descending: true,
                    nulls_last: true
                }
            ]
        );
        assert_eq!(s.limit, Some(5));
    }

    #[test]
    fn what_the_subset_lacks_is_malformed() {
        for q in [
            "SELECT Id FROM Contact WHERE Email = 'a' AND Phone = 'b'",
            "SELECT Id FROM Contact WHERE Email IN ()",
            "SELECT Id FROM Contact WHERE Email != 'a'",
            "SELECT Id FROM Contact ORDER BY",
            "SELECT Id FROM Contact ORDER BY Id NULLS",
            "SELECT Id FROM Contact LIMIT 1 ORDER BY Id",
            "SELECT FROM Contact",
            "SELECT Id FROM Contact WHERE Email = 'a",
            "SELECT Id FROM Contact WHERE Email = 'a\\q'",
            "DELETE Contact",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
    }
}
