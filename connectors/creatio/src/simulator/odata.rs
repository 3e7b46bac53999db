//! The OData 4 query options as the simulator understands them: `$filter` (parsed into a tree,
//! checked against ASP.NET OData's default node limit, evaluated with the database's string
//! comparison rules), `$select`, nested `$expand`, `$orderby`, `$top`, `$skip` and `$count`.
//!
//! Not understood (answered with an OData error): the `in` operator, lambda operators
//! (`any`/`all`), arithmetic, `$search`, `$apply`, `$compute`, and options other than
//! `$select`/`$expand` inside an `$expand`.

use axum::http::StatusCode;
use serde_json::Value;
use std::cmp::Ordering;

/// The most rows one page holds: a larger (or absent) `$top` is cut to this.
pub const MAX_TOP: usize = 20_000;
/// ASP.NET OData's default `MaxNodeCount` for `$filter`.
pub const DEFAULT_MAX_NODE_COUNT: usize = 100;

/// An error to answer in OData's JSON error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ODataError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ODataError {
    /// A query that cannot be run: 400, ASP.NET OData's wording.
    pub(crate) fn invalid_query(detail: impl std::fmt::Display) -> ODataError {
        ODataError {
            status: StatusCode::BAD_REQUEST,
            code: "",
            message: format!("The query specified in the URI is not valid. {detail}"),
        }
    }

    /// Something the simulator does not implement: 501.
    pub(crate) fn not_simulated(what: impl std::fmt::Display) -> ODataError {
        ODataError {
            status: StatusCode::NOT_IMPLEMENTED,
            code: "NotImplemented",
            message: format!("{what} is not simulated."),
        }
    }

    /// An unknown resource: 404.
    pub(crate) fn not_found(segment: &str) -> ODataError {
        ODataError {
            status: StatusCode::NOT_FOUND,
            code: "",
            message: format!(
                "No HTTP resource was found that matches the request URI segment '{segment}'."
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// $filter

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The string functions understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    ToLower,
    ToUpper,
    Trim,
    Contains,
    StartsWith,
    EndsWith,
}

impl Func {
    fn parse(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "tolower" => (Func::ToLower, 1),
            "toupper" => (Func::ToUpper, 1),
            "trim" => (Func::Trim, 1),
            "contains" => (Func::Contains, 2),
            "startswith" => (Func::StartsWith, 2),
            "endswith" => (Func::EndsWith, 2),
            _ => return None,
        })
    }
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A property path: `Email`, `PrimaryContact/Email`.
    Path(Vec<String>),
    /// A literal (GUIDs are lower-cased text; dates and times are text).
    Lit(Value),
    Call(Func, Vec<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Lit(Value),
    Word(String),
}

fn syntax(filter: &str, pos: usize) -> ODataError {
    ODataError::invalid_query(format!(
        "Syntax error at position {pos} in '{}'.",
        filter.chars().take(200).collect::<String>()
    ))
}

/// Whether the 36 characters at `at` are a GUID not followed by a name character.
fn guid_at(b: &[char], at: usize) -> bool {
    if b.len() < at + 36 {
        return false;
    }
    let ok = b[at..at + 36].iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == '-',
        _ => c.is_ascii_hexdigit(),
    });
    ok && !b
        .get(at + 36)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
}

fn lex(filter: &str) -> Result<Vec<(usize, Tok)>, ODataError> {
    let b: Vec<char> = filter.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if guid_at(&b, i) {
            let g: String = b[i..i + 36].iter().collect();
            out.push((start, Tok::Lit(Value::String(g.to_ascii_lowercase()))));
            i += 36;
            continue;
        }
        match c {
            '(' => {
                out.push((start, Tok::Open));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::Close));
                i += 1;
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(syntax(filter, start)),
                        Some('\'') if b.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Lit(Value::String(s))));
            }
            c if c.is_ascii_digit()
                || (c == '-' && b.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || ":.+-".contains(b[i])) {
                    i += 1;
                }
                let text: String = b[start..i].iter().collect();
                // Dates and date-times are unquoted in OData 4; they compare as text here.
                let value = if text[1..].contains(['-', ':']) {
                    Value::String(text)
                } else {
                    Value::Number(
                        text.parse::<serde_json::Number>()
                            .map_err(|_| syntax(filter, start))?,
                    )
                };
                out.push((start, Tok::Lit(value)));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_' || b[i] == '/') {
                    i += 1;
                }
                let word: String = b[start..i].iter().collect();
                let tok = match word.as_str() {
                    "true" => Tok::Lit(Value::Bool(true)),
                    "false" => Tok::Lit(Value::Bool(false)),
                    "null" => Tok::Lit(Value::Null),
                    _ => Tok::Word(word),
                };
                out.push((start, tok));
            }
            _ => return Err(syntax(filter, start)),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    filter: &'a str,
    toks: Vec<(usize, Tok)>,
    at: usize,
}

impl Parser<'_> {
    fn pos(&self) -> usize {
        self.toks
            .get(self.at)
            .map(|(p, _)| *p)
            .unwrap_or(self.filter.len())
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }
    fn err(&self) -> ODataError {
        syntax(self.filter, self.pos())
    }
    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn expect(&mut self, t: Tok) -> Result<(), ODataError> {
        if self.peek() == Some(&t) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn or(&mut self) -> Result<Expr, ODataError> {
        let mut e = self.and()?;
        while self.word("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ODataError> {
        let mut e = self.not()?;
        while self.word("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, ODataError> {
        if self.word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, ODataError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Word(w)) => match w.as_str() {
                "eq" => Cmp::Eq,
                "ne" => Cmp::Ne,
                "gt" => Cmp::Gt,
                "ge" => Cmp::Ge,
                "lt" => Cmp::Lt,
                "le" => Cmp::Le,
                "in" => return Err(ODataError::not_simulated("The 'in' operator")),
                "has" | "add" | "sub" | "mul" | "div" | "mod" => {
                    return Err(ODataError::not_simulated(format!("The '{w}' operator")))
                }
                _ => return Ok(left),
            },
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.primary()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn primary(&mut self) -> Result<Expr, ODataError> {
        match self.next() {
            Some(Tok::Open) => {
                let e = self.or()?;
                self.expect(Tok::Close)?;
                Ok(e)
            }
            Some(Tok::Lit(v)) => Ok(Expr::Lit(v)),
            Some(Tok::Word(w)) if self.peek() == Some(&Tok::Open) => {
                self.at += 1;
                let (func, arity) = Func::parse(&w).ok_or_else(|| {
                    ODataError::invalid_query(format!(
                        "An unknown function with name '{w}' was found."
                    ))
                })?;
                let mut args = Vec::new();
                if self.peek() != Some(&Tok::Close) {
                    loop {
                        args.push(self.or()?);
                        if self.peek() == Some(&Tok::Comma) {
                            self.at += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(Tok::Close)?;
                if args.len() != arity {
                    return Err(ODataError::invalid_query(format!(
                        "No function signature for the function with name '{w}' matches the specified arguments."
                    )));
                }
                Ok(Expr::Call(func, args))
            }
            Some(Tok::Word(w)) => {
                if w.ends_with('/') || w.contains("//") {
                    return Err(self.err());
                }
                Ok(Expr::Path(w.split('/').map(str::to_owned).collect()))
            }
            _ => Err(self.err()),
        }
    }
}

/// Parses a `$filter` value.
pub(crate) fn parse_filter(filter: &str) -> Result<Expr, ODataError> {
    let mut p = Parser {
        filter,
        toks: lex(filter)?,
        at: 0,
    };
    let e = p.or()?;
    if p.at < p.toks.len() {
        return Err(p.err());
    }
    Ok(e)
}

/// How the database compares text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collation {
    /// Case-insensitive (Microsoft SQL Server's default collations).
    CaseInsensitive,
    /// Case-sensitive (PostgreSQL).
    CaseSensitive,
}

impl Collation {
    fn fold(self, s: &str) -> String {
        match self {
            Collation::CaseInsensitive => s.to_lowercase(),
            Collation::CaseSensitive => s.to_owned(),
        }
    }
}

impl Expr {
    /// Nodes of the tree as ASP.NET OData counts them for `MaxNodeCount`: one per operator,
    /// literal, function call, and path segment.
    pub(crate) fn node_count(&self) -> usize {
        match self {
            Expr::Path(p) => p.len(),
            Expr::Lit(_) => 1,
            Expr::Call(_, args) => 1 + args.iter().map(Expr::node_count).sum::<usize>(),
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                1 + a.node_count() + b.node_count()
            }
            Expr::Not(e) => 1 + e.node_count(),
        }
    }

    /// Every property path the expression reads.
    pub(crate) fn paths<'a>(&'a self, out: &mut Vec<&'a [String]>) {
        match self {
            Expr::Path(p) => out.push(p),
            Expr::Lit(_) => {}
            Expr::Call(_, args) => args.iter().for_each(|a| a.paths(out)),
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.paths(out);
                b.paths(out);
            }
            Expr::Not(e) => e.paths(out),
        }
    }

    /// The `(path, text)` pairs the filter pins rows to: an `or` chain of `path eq 'text'`
    /// comparisons (bare or inside `tolower`/`toupper`), or such a chain anywhere in the
    /// top-level `and` chain. `None` when the filter pins nothing (the rows must be scanned).
    pub(crate) fn pinned(&self) -> Option<Vec<(String, String)>> {
        fn on_path(e: &Expr) -> Option<String> {
            match e {
                Expr::Path(p) => Some(p.join("/")),
                Expr::Call(Func::ToLower | Func::ToUpper | Func::Trim, args) => {
                    match args.as_slice() {
                        [Expr::Path(p)] => Some(p.join("/")),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        fn chain(e: &Expr, out: &mut Vec<(String, String)>) -> bool {
            match e {
                Expr::Cmp(Cmp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
                    (x, Expr::Lit(Value::String(v))) | (Expr::Lit(Value::String(v)), x) => {
                        match on_path(x) {
                            Some(p) => {
                                out.push((p, v.clone()));
                                true
                            }
                            None => false,
                        }
                    }
                    _ => false,
                },
                Expr::Or(a, b) => chain(a, out) && chain(b, out),
                _ => false,
            }
        }
        match self {
            Expr::And(a, b) => a.pinned().or_else(|| b.pinned()),
            other => {
                let mut out = Vec::new();
                chain(other, &mut out).then_some(out)
            }
        }
    }

    /// Evaluates against a row whose property paths `get` resolves.
    pub(crate) fn eval(&self, get: &dyn Fn(&[String]) -> Value, c: Collation) -> Value {
        match self {
            Expr::Path(p) => get(p),
            Expr::Lit(v) => v.clone(),
            Expr::Call(f, args) => {
                let vals: Vec<Value> = args.iter().map(|a| a.eval(get, c)).collect();
                let text = |i: usize| vals.get(i).and_then(Value::as_str).unwrap_or("").to_owned();
                match f {
                    Func::ToLower => Value::String(text(0).to_lowercase()),
                    Func::ToUpper => Value::String(text(0).to_uppercase()),
                    Func::Trim => Value::String(text(0).trim().to_owned()),
                    Func::Contains => Value::Bool(c.fold(&text(0)).contains(&c.fold(&text(1)))),
                    Func::StartsWith => {
                        Value::Bool(c.fold(&text(0)).starts_with(&c.fold(&text(1))))
                    }
                    Func::EndsWith => Value::Bool(c.fold(&text(0)).ends_with(&c.fold(&text(1)))),
                }
            }
            Expr::Cmp(op, a, b) => {
                let (a, b) = (a.eval(get, c), b.eval(get, c));
                let ord = compare(&a, &b, c);
                Value::Bool(match op {
                    Cmp::Eq => ord == Ordering::Equal,
                    Cmp::Ne => ord != Ordering::Equal,
                    Cmp::Gt => ord == Ordering::Greater,
                    Cmp::Ge => ord != Ordering::Less,
                    Cmp::Lt => ord == Ordering::Less,
                    Cmp::Le => ord != Ordering::Greater,
                })
            }
            Expr::And(a, b) => Value::Bool(truthy(&a.eval(get, c)) && truthy(&b.eval(get, c))),
            Expr::Or(a, b) => Value::Bool(truthy(&a.eval(get, c)) || truthy(&b.eval(get, c))),
            Expr::Not(e) => Value::Bool(!truthy(&e.eval(get, c))),
        }
    }
}

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

/// Orders values the way the database does: null first, text by the collation.
pub(crate) fn compare(a: &Value, b: &Value, c: Collation) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => c.fold(x).cmp(&c.fold(y)),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => Ordering::Less,
    }
}

// ---------------------------------------------------------------------------------------------
// The other query options

/// One item of `$expand`, with its nested options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandItem {
    pub name: String,
    pub select: Option<Vec<String>>,
    pub expand: Vec<ExpandItem>,
}

/// The query options of one collection read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub filter: Option<Expr>,
    pub select: Option<Vec<String>>,
    pub expand: Vec<ExpandItem>,
    pub orderby: Vec<(Vec<String>, bool)>,
    pub top: Option<usize>,
    pub skip: usize,
    pub count: bool,
}

/// Splits at `sep` outside parentheses and quotes.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && !quoted {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Parses `$expand`, e.g. `Addresses($select=Zip;$expand=Country($select=Code)),Owner`.
pub(crate) fn parse_expand(s: &str) -> Result<Vec<ExpandItem>, ODataError> {
    let bad = || ODataError::invalid_query(format!("The $expand value '{s}' is not valid."));
    split_top(s, ',')
        .into_iter()
        .map(|item| {
            let (name, opts) = match item.find('(') {
                Some(at) if item.ends_with(')') => (&item[..at], &item[at + 1..item.len() - 1]),
                Some(_) => return Err(bad()),
                None => (item.as_str(), ""),
            };
            let name = name.trim();
            if name.is_empty() || name.contains('/') {
                return Err(bad());
            }
            let mut out = ExpandItem {
                name: name.to_owned(),
                select: None,
                expand: Vec::new(),
            };
            for opt in split_top(opts, ';') {
                match opt.split_once('=') {
                    Some(("$expand", v)) => out.expand = parse_expand(v)?,
                    Some(("$select", v)) => out.select = Some(parse_list(v)),
                    Some((other, _)) if other.starts_with('$') => {
                        return Err(ODataError::not_simulated(format!(
                            "The {other} option inside $expand"
                        )))
                    }
                    _ => return Err(bad()),
                }
            }
            Ok(out)
        })
        .collect()
}

fn parse_orderby(s: &str) -> Result<Vec<(Vec<String>, bool)>, ODataError> {
    s.split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let field = words
                .next()
                .ok_or_else(|| ODataError::invalid_query("An $orderby item is empty."))?;
            let desc = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(ODataError::invalid_query(format!(
                        "Syntax error: unknown $orderby direction '{other}'."
                    )))
                }
            };
            Ok((field.split('/').map(str::to_owned).collect(), desc))
        })
        .collect()
}

fn parse_count(name: &str, v: &str) -> Result<usize, ODataError> {
    v.trim().parse::<usize>().map_err(|_| {
        ODataError::invalid_query(format!(
            "Invalid value '{v}' for {name} query option found. The {name} query option requires a non-negative integer value."
        ))
    })
}

/// Parses a raw (percent-encoded) query string into options; `max_nodes` bounds `$filter`.
pub(crate) fn parse_options(raw: Option<&str>, max_nodes: usize) -> Result<Options, ODataError> {
    let mut o = Options::default();
    let mut seen = std::collections::HashSet::new();
    let Some(raw) = raw else { return Ok(o) };
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if !k.starts_with('$') {
            continue;
        }
        if !seen.insert(k.to_string()) {
            return Err(ODataError::invalid_query(format!(
                "Query option '{k}' was specified more than once, but it must be specified at most once."
            )));
        }
        match k.as_ref() {
            "$filter" => {
                let e = parse_filter(&v)?;
                let nodes = e.node_count();
                if nodes > max_nodes {
                    return Err(ODataError::invalid_query(format!(
                        "The node count limit of '{max_nodes}' has been exceeded. To increase the limit, set the 'MaxNodeCount' property on EnableQueryAttribute or ODataValidationSettings."
                    )));
                }
                o.filter = Some(e);
            }
            "$select" => o.select = Some(parse_list(&v)),
            "$expand" => o.expand = parse_expand(&v)?,
            "$orderby" => o.orderby = parse_orderby(&v)?,
            "$top" => o.top = Some(parse_count("$top", &v)?),
            "$skip" => o.skip = parse_count("$skip", &v)?,
            "$count" => {
                o.count = match v.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ODataError::invalid_query(format!(
                            "'{v}' is not a valid count option."
                        )))
                    }
                }
            }
            "$format" if v.starts_with("json") || v.starts_with("application/json") => {}
            other => {
                return Err(ODataError::not_simulated(format!(
                    "The query option '{other}'"
                )))
            }
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> impl Fn(&[String]) -> Value {
        move |p: &[String]| {
            let mut cur = &v;
            for seg in p {
                cur = cur.get(seg).unwrap_or(&Value::Null);
            }
            cur.clone()
        }
    }

    #[test]
    fn filters_parse_with_precedence_paths_and_guids() {
        let e = parse_filter(
            "UsrCustomerNumber eq 'C1' or PrimaryContact/Email eq 'a@b.dk' and not (Id eq 0000002A-0001-4000-8000-00005a11e700)",
        )
        .unwrap();
        let get = row(
            json!({"UsrCustomerNumber": "C2", "PrimaryContact": {"Email": "a@b.dk"},
            "Id": "0000002b-0001-4000-8000-00005a11e700"}),
        );
        assert!(truthy(&e.eval(&get, Collation::CaseSensitive)));
        let mut paths = Vec::new();
        e.paths(&mut paths);
        assert_eq!(paths.len(), 3);
        assert_eq!(paths[1], ["PrimaryContact".to_owned(), "Email".to_owned()]);
    }

    #[test]
    fn string_equality_follows_the_collation() {
        let e = parse_filter("Email eq 'anna@x.dk'").unwrap();
        let get = row(json!({"Email": "Anna@X.dk"}));
        assert!(truthy(&e.eval(&get, Collation::CaseInsensitive)));
        assert!(!truthy(&e.eval(&get, Collation::CaseSensitive)));
        let lower = parse_filter("tolower(Email) eq 'anna@x.dk'").unwrap();
        assert!(truthy(&lower.eval(&get, Collation::CaseSensitive)));
    }

    #[test]
    fn or_chains_pin_their_values_and_scans_pin_nothing() {
        let e = parse_filter(
            "(UsrPhoneE164 eq '+4520000001' or tolower(PrimaryContact/Email) eq 'a@b.dk') and ModifiedOn gt 2024-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            e.pinned(),
            Some(vec![
                ("UsrPhoneE164".into(), "+4520000001".into()),
                ("PrimaryContact/Email".into(), "a@b.dk".into())
            ])
        );
        assert_eq!(
            parse_filter("Email eq 'a' or Name ne 'b'")
                .unwrap()
                .pinned(),
            None
        );
        assert_eq!(parse_filter("contains(Name, 'x')").unwrap().pinned(), None);
    }

    #[test]
    fn nodes_are_counted_like_asp_net_odata() {
        assert_eq!(parse_filter("Email eq 'a'").unwrap().node_count(), 3);
        assert_eq!(
            parse_filter("tolower(PrimaryContact/Email) eq 'a'")
                .unwrap()
                .node_count(),
            5
        );
        let chain: Vec<String> = (0..16)
            .map(|i| format!("tolower(PrimaryContact/Email) eq 'a{i}@x.dk'"))
            .collect();
        assert_eq!(parse_filter(&chain.join(" or ")).unwrap().node_count(), 95);
        let raw = format!(
            "$filter={}",
            url::form_urlencoded::byte_serialize(
                (0..26)
                    .map(|i| format!("Email eq 'a{i}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
                    .as_bytes()
            )
            .collect::<String>()
        );
        let err = parse_options(Some(&raw), DEFAULT_MAX_NODE_COUNT).unwrap_err();
        assert!(err.message.contains("node count limit of '100'"));
    }

    #[test]
    fn unsupported_syntax_is_refused_with_odata_errors() {
        assert_eq!(
            parse_filter("Email in ('a','b')").unwrap_err().status,
            StatusCode::NOT_IMPLEMENTED
        );
        assert!(parse_filter("Email eq 'a").is_err());
        assert!(parse_filter("frob(Email) eq 'a'").is_err());
        assert!(parse_filter("Email eq").is_err());
        assert!(parse_options(Some("$top=-1"), 100).is_err());
        assert!(parse_options(Some("$top=1&$top=2"), 100).is_err());
        assert!(parse_options(Some("$search=x"), 100).is_err());
        assert!(parse_expand("Country($filter=Code eq 'DK')").is_err());
    }

    #[test]
    fn nested_expand_and_select_parse() {
        let e = parse_expand(
            "ContactAddressCollectionByContact($select=Primary,Zip;$expand=City($select=Name),Country($select=Code)),Account",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].expand.len(), 2);
        assert_eq!(e[0].select.as_deref().map(<[String]>::len), Some(2));
        assert_eq!(e[1].name, "Account");
    }
}
