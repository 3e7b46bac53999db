//! The OData v4 query dialect of Business Central, as the simulator understands it: `$filter`
//! parsing, validation against Business Central's rules (no `or` across distinct fields, at
//! most 100 nodes, values no longer than their field), evaluation over JSON rows, `$orderby`,
//! `$select`, nested `$expand`, `$top`, `Prefer: odata.maxpagesize` and skip tokens.

use axum::http::StatusCode;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// Business Central's largest page, and the page size without a `Prefer` header.
pub const MAX_PAGE_SIZE: usize = 20_000;
/// The OData stack's node limit for one filter.
pub const MAX_NODE_COUNT: usize = 100;

/// An OData error to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ODataError {
    /// HTTP status.
    pub status: StatusCode,
    /// Business Central's error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl ODataError {
    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ODataError {
        ODataError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 501 for what the simulator does not implement.
    pub fn not_implemented(message: impl Into<String>) -> ODataError {
        ODataError {
            status: StatusCode::NOT_IMPLEMENTED,
            code: "BadRequest_MethodNotImplemented",
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// $filter

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A property of the row.
    Prop(String),
    /// A literal.
    Lit(Value),
    /// A function call (`tolower`, `contains`, ...).
    Call(String, Vec<Expr>),
    /// A comparison.
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    /// `and`.
    And(Box<Expr>, Box<Expr>),
    /// `or`.
    Or(Box<Expr>, Box<Expr>),
    /// `not`.
    Not(Box<Expr>),
    /// `x in (a, b)`.
    In(Box<Expr>, Vec<Value>),
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
    ODataError::bad_request(
        "BadRequest_NotFound",
        format!("Syntax error at position {pos} in '{filter}'."),
    )
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
                // Dates and date-times are unquoted in OData v4; they compare as text here.
                let value = if text[1..].contains(['-', ':']) {
                    Value::String(text)
                } else {
                    Value::Number(text.parse::<Number>().map_err(|_| syntax(filter, start))?)
                };
                out.push((start, Tok::Lit(value)));
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
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
                "in" => {
                    self.at += 1;
                    self.expect(Tok::Open)?;
                    let mut list = Vec::new();
                    loop {
                        match self.next() {
                            Some(Tok::Lit(v)) => list.push(v),
                            _ => return Err(self.err()),
                        }
                        match self.next() {
                            Some(Tok::Comma) => continue,
                            Some(Tok::Close) => break,
                            _ => return Err(self.err()),
                        }
                    }
                    return Ok(Expr::In(Box::new(left), list));
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
            Some(Tok::Word(w)) => {
                if self.peek() == Some(&Tok::Open) {
                    self.at += 1;
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
                    let arity = match w.as_str() {
                        "tolower" | "toupper" => 1,
                        "contains" | "startswith" | "endswith" => 2,
                        _ => {
                            return Err(ODataError::bad_request(
                                "BadRequest_NotFound",
                                format!("An unknown function with name '{w}' was found."),
                            ))
                        }
                    };
                    if args.len() != arity {
                        return Err(self.err());
                    }
                    Ok(Expr::Call(w, args))
                } else {
                    Ok(Expr::Prop(w))
                }
            }
            _ => Err(self.err()),
        }
    }
}

/// Parses a `$filter` value.
pub fn parse_filter(filter: &str) -> Result<Expr, ODataError> {
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

impl Expr {
    /// Nodes of the filter tree as the OData stack counts them (an `in` list is one node).
    pub fn node_count(&self) -> usize {
        match self {
            Expr::Prop(_) | Expr::Lit(_) => 1,
            Expr::Call(_, args) => 1 + args.iter().map(Expr::node_count).sum::<usize>(),
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                1 + a.node_count() + b.node_count()
            }
            Expr::Not(e) => 1 + e.node_count(),
            Expr::In(e, _) => 2 + e.node_count(),
        }
    }

    /// Every property the expression reads.
    pub fn properties(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Prop(p) => {
                out.insert(p.clone());
            }
            Expr::Lit(_) => {}
            Expr::Call(_, args) => args.iter().for_each(|a| a.properties(out)),
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.properties(out);
                b.properties(out);
            }
            Expr::Not(e) | Expr::In(e, _) => e.properties(out),
        }
    }

    /// Business Central turns filters into AL filters per field, so `or` may only join
    /// conditions on one field.
    pub fn check_or(&self) -> Result<(), ODataError> {
        match self {
            Expr::Or(a, b) => {
                let mut props = BTreeSet::new();
                self.properties(&mut props);
                if props.len() > 1 {
                    return Err(ODataError::bad_request(
                        "BadRequest",
                        "An error occurred while processing this request. The 'OR' operator is not supported on distinct fields on an OData filter.",
                    ));
                }
                a.check_or()?;
                b.check_or()
            }
            Expr::And(a, b) | Expr::Cmp(_, a, b) => {
                a.check_or()?;
                b.check_or()
            }
            Expr::Not(e) | Expr::In(e, _) => e.check_or(),
            Expr::Call(_, args) => args.iter().try_for_each(Expr::check_or),
            Expr::Prop(_) | Expr::Lit(_) => Ok(()),
        }
    }

    /// Text literals compared with a property, with the property's name.
    pub fn compared_texts(&self, out: &mut Vec<(String, String)>) {
        let prop = |e: &Expr| -> Option<String> {
            match e {
                Expr::Prop(p) => Some(p.clone()),
                Expr::Call(_, args) => match args.first() {
                    Some(Expr::Prop(p)) => Some(p.clone()),
                    _ => None,
                },
                _ => None,
            }
        };
        match self {
            Expr::Cmp(_, a, b) => {
                for (p, l) in [(a, b), (b, a)] {
                    if let (Some(name), Expr::Lit(Value::String(s))) = (prop(p), l.as_ref()) {
                        out.push((name, s.clone()));
                    }
                }
            }
            Expr::In(e, list) => {
                if let Some(name) = prop(e) {
                    for v in list {
                        if let Value::String(s) = v {
                            out.push((name.clone(), s.clone()));
                        }
                    }
                }
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.compared_texts(out);
                b.compared_texts(out);
            }
            Expr::Not(e) => e.compared_texts(out),
            Expr::Call(_, args) => args.iter().for_each(|a| a.compared_texts(out)),
            Expr::Prop(_) | Expr::Lit(_) => {}
        }
    }

    /// Values that `field` is pinned to by the filter: an `eq`/`in` on the field (bare or
    /// inside `tolower`/`toupper`) at the top level of the `and` chain, or an `or` chain of
    /// such. `None` when the filter does not pin the field.
    pub fn pinned(&self, field: &str) -> Option<Vec<Value>> {
        fn on_field(e: &Expr, field: &str) -> bool {
            match e {
                Expr::Prop(p) => p == field,
                Expr::Call(f, args) if f == "tolower" || f == "toupper" => {
                    matches!(args.as_slice(), [Expr::Prop(p)] if p == field)
                }
                _ => false,
            }
        }
        fn values(e: &Expr, field: &str) -> Option<Vec<Value>> {
            match e {
                Expr::Cmp(Cmp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
                    (x, Expr::Lit(v)) | (Expr::Lit(v), x) if on_field(x, field) => {
                        Some(vec![v.clone()])
                    }
                    _ => None,
                },
                Expr::In(x, list) if on_field(x, field) => Some(list.clone()),
                Expr::Or(a, b) => {
                    let mut v = values(a, field)?;
                    v.extend(values(b, field)?);
                    Some(v)
                }
                _ => None,
            }
        }
        match self {
            Expr::And(a, b) => a.pinned(field).or_else(|| b.pinned(field)),
            other => values(other, field),
        }
    }

    fn eval(&self, row: &Map<String, Value>) -> Value {
        match self {
            Expr::Prop(p) => row.get(p).cloned().unwrap_or(Value::Null),
            Expr::Lit(v) => v.clone(),
            Expr::Call(f, args) => {
                let vals: Vec<Value> = args.iter().map(|a| a.eval(row)).collect();
                let text = |i: usize| vals.get(i).and_then(Value::as_str).unwrap_or("").to_owned();
                match f.as_str() {
                    "tolower" => Value::String(text(0).to_lowercase()),
                    "toupper" => Value::String(text(0).to_uppercase()),
                    "contains" => Value::Bool(text(0).contains(&text(1))),
                    "startswith" => Value::Bool(text(0).starts_with(&text(1))),
                    "endswith" => Value::Bool(text(0).ends_with(&text(1))),
                    _ => Value::Null,
                }
            }
            Expr::Cmp(op, a, b) => {
                let (a, b) = (a.eval(row), b.eval(row));
                let ord = compare(&a, &b);
                Value::Bool(match op {
                    Cmp::Eq => same(&a, &b),
                    Cmp::Ne => !same(&a, &b),
                    Cmp::Gt => ord == Ordering::Greater,
                    Cmp::Ge => ord != Ordering::Less,
                    Cmp::Lt => ord == Ordering::Less,
                    Cmp::Le => ord != Ordering::Greater,
                })
            }
            Expr::And(a, b) => Value::Bool(truthy(&a.eval(row)) && truthy(&b.eval(row))),
            Expr::Or(a, b) => Value::Bool(truthy(&a.eval(row)) || truthy(&b.eval(row))),
            Expr::Not(e) => Value::Bool(!truthy(&e.eval(row))),
            Expr::In(e, list) => {
                let v = e.eval(row);
                Value::Bool(list.iter().any(|x| same(&v, x)))
            }
        }
    }

    /// Whether `row` passes the filter.
    pub fn matches(&self, row: &Value) -> bool {
        row.as_object().is_some_and(|r| truthy(&self.eval(r)))
    }
}

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Orders JSON values the way `$orderby` does: null first, then by type.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

// ---------------------------------------------------------------------------------------------
// $expand, $select, $orderby

/// One item of `$expand`, with its nested options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandItem {
    /// The navigation property.
    pub name: String,
    /// Nested `$expand`.
    pub expand: Vec<ExpandItem>,
    /// Nested `$select`.
    pub select: Option<Vec<String>>,
}

/// Splits at `sep` outside parentheses.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
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

/// Parses `$expand`, e.g. `salesOrderLines($expand=itemVariant,location;$select=sequence)`.
pub fn parse_expand(s: &str) -> Result<Vec<ExpandItem>, ODataError> {
    let bad = || {
        ODataError::bad_request(
            "BadRequest_InvalidRequestUrl",
            format!("The $expand value '{s}' is not valid."),
        )
    };
    split_top(s, ',')
        .into_iter()
        .map(|item| {
            let (name, opts) = match item.find('(') {
                Some(at) if item.ends_with(')') => (&item[..at], &item[at + 1..item.len() - 1]),
                Some(_) => return Err(bad()),
                None => (item.as_str(), ""),
            };
            let mut out = ExpandItem {
                name: name.trim().to_owned(),
                expand: Vec::new(),
                select: None,
            };
            for opt in split_top(opts, ';') {
                match opt.split_once('=') {
                    Some(("$expand", v)) => out.expand = parse_expand(v)?,
                    Some(("$select", v)) => out.select = Some(parse_list(v)),
                    _ => return Err(bad()),
                }
            }
            Ok(out)
        })
        .collect()
}

/// A comma list (`$select`).
pub fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Parses `$orderby`: `field [asc|desc], ...` into (field, descending).
pub fn parse_orderby(s: &str) -> Result<Vec<(String, bool)>, ODataError> {
    s.split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let field = words.next().ok_or_else(|| {
                ODataError::bad_request("BadRequest_InvalidRequestUrl", "Empty $orderby item.")
            })?;
            let desc = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(ODataError::bad_request(
                        "BadRequest_InvalidRequestUrl",
                        format!("Unknown $orderby direction '{other}'."),
                    ))
                }
            };
            Ok((field.to_owned(), desc))
        })
        .collect()
}

/// Sorts rows by `$orderby` (stable, so the source order breaks remaining ties).
pub fn sort_rows(rows: &mut [Value], orderby: &[(String, bool)]) {
    rows.sort_by(|a, b| {
        for (field, desc) in orderby {
            let o = compare(
                a.get(field).unwrap_or(&Value::Null),
                b.get(field).unwrap_or(&Value::Null),
            );
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

/// A navigation property an entity type has, with its own navigation properties.
#[derive(Debug)]
pub struct Nav {
    /// Its name.
    pub name: &'static str,
    /// Its entity type's navigation properties.
    pub navs: &'static [Nav],
}

/// Checks `$expand` against the navigation properties of a type.
pub fn check_expand(items: &[ExpandItem], navs: &[Nav], type_name: &str) -> Result<(), ODataError> {
    for item in items {
        match navs.iter().find(|n| n.name == item.name) {
            Some(nav) => check_expand(&item.expand, nav.navs, nav.name)?,
            None => {
                return Err(ODataError::bad_request(
                    "BadRequest_NotFound",
                    format!(
                        "Could not find a property named '{}' on type 'Microsoft.NAV.{type_name}'.",
                        item.name
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// Keeps the expanded navigation properties of a row (recursively) and the selected fields.
pub fn shape(row: &mut Value, navs: &[Nav], expand: &[ExpandItem], select: Option<&[String]>) {
    let Some(obj) = row.as_object_mut() else {
        return;
    };
    for nav in navs {
        match expand.iter().find(|e| e.name == nav.name) {
            Some(item) => match obj.get_mut(nav.name) {
                Some(Value::Array(children)) => children
                    .iter_mut()
                    .for_each(|c| shape(c, nav.navs, &item.expand, item.select.as_deref())),
                Some(child) => shape(child, nav.navs, &item.expand, item.select.as_deref()),
                None => {}
            },
            None => {
                obj.remove(nav.name);
            }
        }
    }
    if let Some(fields) = select {
        obj.retain(|k, _| {
            k.starts_with('@')
                || fields.iter().any(|f| f == k)
                || expand.iter().any(|e| &e.name == k)
        });
    }
}

/// The page size a `Prefer` header asks for (`odata.maxpagesize=N`), capped at the server's.
pub fn page_size(prefer: Option<&str>) -> (usize, bool) {
    let asked = prefer.and_then(|p| {
        p.split(',').find_map(|pref| {
            let (k, v) = pref.trim().split_once('=')?;
            (k.trim() == "odata.maxpagesize")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
    });
    match asked {
        Some(n) if n > 0 => (n.min(MAX_PAGE_SIZE), true),
        _ => (MAX_PAGE_SIZE, false),
    }
}

/// Where a page starts: group, row within the group, rows already returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// The group (an entity index, or a candidate row).
    pub group: u64,
    /// Rows of that group already returned.
    pub offset: usize,
    /// Rows returned by earlier pages (for `$top`).
    pub emitted: usize,
}

impl Position {
    /// The skip token form.
    pub fn token(&self) -> String {
        format!("{}.{}.{}", self.group, self.offset, self.emitted)
    }

    /// Parses a skip token.
    pub fn parse(token: &str) -> Result<Position, ODataError> {
        let bad = || {
            ODataError::bad_request(
                "BadRequest_InvalidToken",
                format!("The skip token '{token}' is not valid."),
            )
        };
        let t = token.trim_matches('\'');
        let mut parts = t.split('.').map(|p| p.parse::<u64>().map_err(|_| bad()));
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(g), Some(o), Some(n), None) => Ok(Position {
                group: g?,
                offset: o? as usize,
                emitted: n? as usize,
            }),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_parse_with_precedence_and_in_lists() {
        let e = parse_filter(
            "itemNumber in ('P1','P2') and currencyCode eq '' and not (priceChannel eq 'store')",
        )
        .unwrap();
        assert!(
            e.matches(&json!({"itemNumber": "P2", "currencyCode": "", "priceChannel": "online"}))
        );
        assert!(
            !e.matches(&json!({"itemNumber": "P3", "currencyCode": "", "priceChannel": "online"}))
        );
        assert_eq!(e.pinned("itemNumber"), Some(vec![json!("P1"), json!("P2")]));
        assert_eq!(e.pinned("priceChannel"), None);
    }

    #[test]
    fn tolower_makes_email_comparison_case_insensitive() {
        let e =
            parse_filter("tolower(email) eq 'anna@x.dk' or tolower(email) eq 'b@x.dk'").unwrap();
        assert!(e.check_or().is_ok());
        assert!(e.matches(&json!({"email": "ANNA@X.DK"})));
        let exact = parse_filter("email eq 'anna@x.dk'").unwrap();
        assert!(!exact.matches(&json!({"email": "ANNA@X.DK"})));
        assert_eq!(e.pinned("email").map(|v| v.len()), Some(2));
    }

    #[test]
    fn or_across_fields_is_rejected_like_business_central() {
        let e = parse_filter("number eq 'C1' or email eq 'a@b.dk'").unwrap();
        let err = e.check_or().unwrap_err();
        assert!(err
            .message
            .contains("'OR' operator is not supported on distinct fields"));
    }

    #[test]
    fn in_lists_count_as_one_node_and_or_chains_grow() {
        let list: Vec<String> = (0..500).map(|i| format!("'C{i}'")).collect();
        let e = parse_filter(&format!("number in ({})", list.join(","))).unwrap();
        assert_eq!(e.node_count(), 3);
        let chain: Vec<String> = (0..21)
            .map(|i| format!("tolower(email) eq 'a{i}@x.dk'"))
            .collect();
        assert!(parse_filter(&chain.join(" or ")).unwrap().node_count() > MAX_NODE_COUNT);
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let err = parse_filter("number eq 'C1").unwrap_err();
        assert_eq!(err.code, "BadRequest_NotFound");
        assert!(parse_filter("number eq").is_err());
        assert!(parse_filter("frobnicate(number) eq 1").is_err());
    }

    #[test]
    fn nested_expand_and_select_parse() {
        let e =
            parse_expand("salesOrderLines($expand=itemVariant,location;$select=sequence),customer")
                .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].expand.len(), 2);
        assert_eq!(e[0].select.as_deref(), Some(&["sequence".to_owned()][..]));
    }

    #[test]
    fn the_page_size_preference_is_capped() {
        assert_eq!(page_size(Some("odata.maxpagesize=7")), (7, true));
        assert_eq!(
            page_size(Some("odata.maxpagesize=50000")),
            (MAX_PAGE_SIZE, true)
        );
        assert_eq!(page_size(None), (MAX_PAGE_SIZE, false));
        let p = Position {
            group: 3,
            offset: 2,
            emitted: 9,
        };
        assert_eq!(Position::parse(&p.token()).unwrap(), p);
    }
}
