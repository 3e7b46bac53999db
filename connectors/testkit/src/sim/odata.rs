//! The OData v4 `$filter` language shared by the OData simulators: a tokenizer (quoted text
//! with `''` escapes, numbers, unquoted dates and date-times as text, `true`/`false`/`null`,
//! optionally unquoted GUIDs), a precedence parser (`or` < `and` < `not` < comparisons and
//! `in` lists) into an [`Expr`] tree, node counting for `MaxNodeCount`-style limits, and
//! evaluation over JSON values; plus the comma-list helpers of `$select` and `$expand`.
//!
//! Vendors differ in details (which functions and operators exist, how nodes are counted, how
//! text compares, the wording of errors). A simulator states its rules in a [`Dialect`] and
//! turns a [`FilterError`] into its vendor's own error body.

use serde_json::{Number, Value};
use std::cmp::Ordering;

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

/// The string functions the parser knows (a [`Dialect`] picks the ones its vendor has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `tolower(text)`
    ToLower,
    /// `toupper(text)`
    ToUpper,
    /// `trim(text)`
    Trim,
    /// `contains(text, part)`
    Contains,
    /// `startswith(text, part)`
    StartsWith,
    /// `endswith(text, part)`
    EndsWith,
}

impl Func {
    /// The function's OData name.
    pub fn name(self) -> &'static str {
        match self {
            Func::ToLower => "tolower",
            Func::ToUpper => "toupper",
            Func::Trim => "trim",
            Func::Contains => "contains",
            Func::StartsWith => "startswith",
            Func::EndsWith => "endswith",
        }
    }

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            Func::ToLower | Func::ToUpper | Func::Trim => 1,
            Func::Contains | Func::StartsWith | Func::EndsWith => 2,
        }
    }
}

/// How `eq`, `ne` and `in` decide equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Equality {
    /// Numbers by value, everything else as JSON (`==`), text case-sensitively.
    Json,
    /// Equal when [`compare`] orders the values as equal (so text follows the collation).
    Ordering,
}

/// How the database compares text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collation {
    /// Case-insensitive (Microsoft SQL Server's default collations).
    CaseInsensitive,
    /// Case-sensitive (PostgreSQL).
    CaseSensitive,
}

impl Collation {
    /// The form of `s` that compares under this collation.
    pub fn fold(self, s: &str) -> String {
        match self {
            Collation::CaseInsensitive => s.to_lowercase(),
            Collation::CaseSensitive => s.to_owned(),
        }
    }
}

/// A vendor's `$filter` rules.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Unquoted GUIDs are literals (lower-cased text).
    pub guid_literals: bool,
    /// Names may start with `$`.
    pub dollar_names: bool,
    /// The functions understood.
    pub functions: &'static [Func],
    /// An unknown function is reported as soon as its name is read (before its arguments).
    pub check_function_first: bool,
    /// `x in (a, b)` is understood.
    pub in_operator: bool,
    /// Operator words refused with [`FilterError::Unsupported`].
    pub unsupported_operators: &'static [&'static str],
    /// A property path with an empty segment (`a/`, `a//b`) is a syntax error.
    pub strict_paths: bool,
    /// Node counting: a property path counts one node per segment (else one node in all).
    pub count_path_segments: bool,
    /// How equality is decided.
    pub equality: Equality,
    /// How [`compare`] orders values of types that do not compare (text with a number, ...).
    pub incomparable: Ordering,
}

/// Why a `$filter` does not parse; the simulator words it in its vendor's error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// A syntax error at a character position.
    Syntax {
        /// The character position.
        pos: usize,
    },
    /// A function the dialect does not know.
    UnknownFunction(String),
    /// A known function called with the wrong number of arguments.
    Arity {
        /// The function's name.
        name: String,
        /// The character position after the call.
        pos: usize,
    },
    /// An operator the dialect refuses (see [`Dialect::unsupported_operators`]).
    Unsupported(String),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A property path: `email`, `PrimaryContact/Email` (split at `/`).
    Path(Vec<String>),
    /// A literal.
    Lit(Value),
    /// A function call.
    Call(Func, Vec<Expr>),
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

fn lex(filter: &str, d: &Dialect) -> Result<Vec<(usize, Tok)>, FilterError> {
    let syntax = |pos| FilterError::Syntax { pos };
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
        if d.guid_literals && guid_at(&b, i) {
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
                        None => return Err(syntax(start)),
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
                    Value::Number(text.parse::<Number>().map_err(|_| syntax(start))?)
                };
                out.push((start, Tok::Lit(value)));
            }
            c if c.is_ascii_alphabetic() || c == '_' || (d.dollar_names && c == '$') => {
                // The first character is already known to start a name (it may be `$`, which
                // the loop below would not step over).
                i += 1;
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
            _ => return Err(syntax(start)),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    filter: &'a str,
    dialect: &'a Dialect,
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
    fn err(&self) -> FilterError {
        FilterError::Syntax { pos: self.pos() }
    }
    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        if self.peek() == Some(&t) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn function(&self, name: &str) -> Result<Func, FilterError> {
        self.dialect
            .functions
            .iter()
            .copied()
            .find(|f| f.name() == name)
            .ok_or_else(|| FilterError::UnknownFunction(name.to_owned()))
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.word("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.word("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, FilterError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Word(w)) => match w.as_str() {
                "eq" => Cmp::Eq,
                "ne" => Cmp::Ne,
                "gt" => Cmp::Gt,
                "ge" => Cmp::Ge,
                "lt" => Cmp::Lt,
                "le" => Cmp::Le,
                "in" if self.dialect.in_operator => {
                    self.at += 1;
                    return self.in_list(left);
                }
                w if self.dialect.unsupported_operators.contains(&w) => {
                    return Err(FilterError::Unsupported(w.to_owned()))
                }
                _ => return Ok(left),
            },
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.primary()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn in_list(&mut self, left: Expr) -> Result<Expr, FilterError> {
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
        Ok(Expr::In(Box::new(left), list))
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.next() {
            Some(Tok::Open) => {
                let e = self.or()?;
                self.expect(Tok::Close)?;
                Ok(e)
            }
            Some(Tok::Lit(v)) => Ok(Expr::Lit(v)),
            Some(Tok::Word(w)) if self.peek() == Some(&Tok::Open) => {
                self.at += 1;
                let early = if self.dialect.check_function_first {
                    Some(self.function(&w)?)
                } else {
                    None
                };
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
                let func = match early {
                    Some(f) => f,
                    None => self.function(&w)?,
                };
                if args.len() != func.arity() {
                    return Err(FilterError::Arity {
                        name: w,
                        pos: self.pos(),
                    });
                }
                Ok(Expr::Call(func, args))
            }
            Some(Tok::Word(w)) => {
                if self.dialect.strict_paths && (w.ends_with('/') || w.contains("//")) {
                    return Err(self.err());
                }
                Ok(Expr::Path(w.split('/').map(str::to_owned).collect()))
            }
            _ => Err(self.err()),
        }
    }
}

/// Parses a `$filter` value under a dialect's rules.
pub fn parse_filter(filter: &str, dialect: &Dialect) -> Result<Expr, FilterError> {
    let mut p = Parser {
        filter,
        dialect,
        toks: lex(filter, dialect)?,
        at: 0,
    };
    let e = p.or()?;
    if p.at < p.toks.len() {
        return Err(p.err());
    }
    Ok(e)
}

impl Expr {
    /// Nodes of the tree for a node limit: one per operator, literal and function call, an `in`
    /// list as one node, and a property path as one node or (see
    /// [`Dialect::count_path_segments`]) one per segment.
    pub fn node_count(&self, d: &Dialect) -> usize {
        match self {
            Expr::Path(p) if d.count_path_segments => p.len(),
            Expr::Path(_) | Expr::Lit(_) => 1,
            Expr::Call(_, args) => 1 + args.iter().map(|a| a.node_count(d)).sum::<usize>(),
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                1 + a.node_count(d) + b.node_count(d)
            }
            Expr::Not(e) => 1 + e.node_count(d),
            Expr::In(e, _) => 2 + e.node_count(d),
        }
    }

    /// Every property path the expression reads, in order.
    pub fn paths<'a>(&'a self, out: &mut Vec<&'a [String]>) {
        match self {
            Expr::Path(p) => out.push(p),
            Expr::Lit(_) => {}
            Expr::Call(_, args) => args.iter().for_each(|a| a.paths(out)),
            Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.paths(out);
                b.paths(out);
            }
            Expr::Not(e) | Expr::In(e, _) => e.paths(out),
        }
    }

    /// Evaluates against a row whose property paths `get` resolves; text functions and
    /// comparisons follow the collation `c`.
    pub fn eval(&self, get: &dyn Fn(&[String]) -> Value, d: &Dialect, c: Collation) -> Value {
        match self {
            Expr::Path(p) => get(p),
            Expr::Lit(v) => v.clone(),
            Expr::Call(f, args) => {
                let vals: Vec<Value> = args.iter().map(|a| a.eval(get, d, c)).collect();
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
                let (a, b) = (a.eval(get, d, c), b.eval(get, d, c));
                let ord = compare(&a, &b, d, c);
                Value::Bool(match op {
                    Cmp::Eq => equal(&a, &b, d, c),
                    Cmp::Ne => !equal(&a, &b, d, c),
                    Cmp::Gt => ord == Ordering::Greater,
                    Cmp::Ge => ord != Ordering::Less,
                    Cmp::Lt => ord == Ordering::Less,
                    Cmp::Le => ord != Ordering::Greater,
                })
            }
            Expr::And(a, b) => {
                Value::Bool(truthy(&a.eval(get, d, c)) && truthy(&b.eval(get, d, c)))
            }
            Expr::Or(a, b) => Value::Bool(truthy(&a.eval(get, d, c)) || truthy(&b.eval(get, d, c))),
            Expr::Not(e) => Value::Bool(!truthy(&e.eval(get, d, c))),
            Expr::In(e, list) => {
                let v = e.eval(get, d, c);
                Value::Bool(list.iter().any(|x| equal(&v, x, d, c)))
            }
        }
    }
}

/// Whether a value is `true` (anything else filters a row out).
pub fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

/// Whether `eq` holds, by the dialect's [`Equality`].
pub fn equal(a: &Value, b: &Value, d: &Dialect, c: Collation) -> bool {
    match d.equality {
        Equality::Ordering => compare(a, b, d, c) == Ordering::Equal,
        Equality::Json => match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            _ => a == b,
        },
    }
}

/// Orders values the way `$orderby` and the comparison operators do: null first, numbers by
/// value, text by the collation, and other pairs as [`Dialect::incomparable`] says.
pub fn compare(a: &Value, b: &Value, d: &Dialect, c: Collation) -> Ordering {
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
        _ => d.incomparable,
    }
}

// ---------------------------------------------------------------------------------------------
// $select and $expand lists

/// Splits at `sep` outside parentheses (and, if `quotes`, outside `'...'`), trimming the
/// parts and dropping empty ones.
pub fn split_top(s: &str, sep: char, quotes: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '\'' if quotes => quoted = !quoted,
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

/// A comma list (`$select`), trimmed, without empty items.
pub fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: &[Func] = &[
        Func::ToLower,
        Func::ToUpper,
        Func::Trim,
        Func::Contains,
        Func::StartsWith,
        Func::EndsWith,
    ];

    const LOOSE: Dialect = Dialect {
        guid_literals: false,
        dollar_names: true,
        functions: ALL,
        check_function_first: false,
        in_operator: true,
        unsupported_operators: &[],
        strict_paths: false,
        count_path_segments: false,
        equality: Equality::Json,
        incomparable: Ordering::Equal,
    };

    const STRICT: Dialect = Dialect {
        guid_literals: true,
        dollar_names: false,
        functions: &[Func::ToLower, Func::Contains],
        check_function_first: true,
        in_operator: false,
        unsupported_operators: &["in", "has"],
        strict_paths: true,
        count_path_segments: true,
        equality: Equality::Ordering,
        incomparable: Ordering::Less,
    };

    fn row(v: Value) -> impl Fn(&[String]) -> Value {
        move |p: &[String]| {
            let mut cur = &v;
            for seg in p {
                cur = cur.get(seg).unwrap_or(&Value::Null);
            }
            cur.clone()
        }
    }

    fn holds(e: &Expr, v: Value, d: &Dialect, c: Collation) -> bool {
        truthy(&e.eval(&row(v), d, c))
    }

    #[test]
    fn a_name_starting_with_a_dollar_is_read_not_looped_over() {
        let e = parse_filter("$it eq 1", &LOOSE).expect("parses");
        let mut paths = Vec::new();
        e.paths(&mut paths);
        assert_eq!(paths, vec![&["$it".to_owned()][..]]);
        assert!(
            parse_filter("$it eq 1", &STRICT).is_err(),
            "refused where names may not start with $"
        );
    }

    #[test]
    fn precedence_in_lists_and_escaped_quotes() {
        let e = parse_filter(
            "n in ('P1','P2') and c eq 'it''s' and not (ch eq 'store') or x eq -1.5",
            &LOOSE,
        )
        .unwrap();
        let c = Collation::CaseSensitive;
        assert!(holds(
            &e,
            json!({"n": "P2", "c": "it's", "ch": "web"}),
            &LOOSE,
            c
        ));
        assert!(!holds(
            &e,
            json!({"n": "P3", "c": "it's", "ch": "web"}),
            &LOOSE,
            c
        ));
        assert!(holds(&e, json!({"x": -1.5}), &LOOSE, c));
        let mut paths = Vec::new();
        e.paths(&mut paths);
        assert_eq!(paths.len(), 4);
    }

    #[test]
    fn guids_dates_and_paths_lex_as_the_dialect_says() {
        let e = parse_filter(
            "A/B eq 0000002A-0001-4000-8000-00005a11e700 and D gt 2024-01-01T00:00:00Z",
            &STRICT,
        )
        .unwrap();
        let r = json!({"A": {"B": "0000002a-0001-4000-8000-00005a11e700"}, "D": "2024-02-01"});
        assert!(holds(&e, r, &STRICT, Collation::CaseSensitive));
        assert_eq!(e.node_count(&STRICT), 8);
        assert_eq!(e.node_count(&LOOSE), 7);
        assert_eq!(
            parse_filter("A// eq 1", &STRICT),
            Err(FilterError::Syntax { pos: 4 })
        );
        assert!(parse_filter("A// eq 1", &LOOSE).is_ok());
        assert_eq!(
            parse_filter("$it eq 1", &STRICT),
            Err(FilterError::Syntax { pos: 0 })
        );
    }

    #[test]
    fn in_lists_count_as_one_node() {
        let list: Vec<String> = (0..500).map(|i| format!("'C{i}'")).collect();
        let e = parse_filter(&format!("number in ({})", list.join(",")), &LOOSE).unwrap();
        assert_eq!(e.node_count(&LOOSE), 3);
        assert_eq!(
            parse_filter("a in ('x')", &STRICT),
            Err(FilterError::Unsupported("in".into()))
        );
        assert_eq!(
            parse_filter("a has 'x'", &LOOSE),
            Err(FilterError::Syntax { pos: 2 })
        );
    }

    #[test]
    fn functions_are_checked_by_name_and_arity() {
        assert_eq!(
            parse_filter("frob(a eq", &STRICT),
            Err(FilterError::UnknownFunction("frob".into()))
        );
        assert_eq!(
            parse_filter("frob(a eq", &LOOSE),
            Err(FilterError::Syntax { pos: 9 })
        );
        assert_eq!(
            parse_filter("trim(a) eq 'x'", &STRICT),
            Err(FilterError::UnknownFunction("trim".into()))
        );
        assert_eq!(
            parse_filter("tolower(a, b) eq 'x'", &LOOSE),
            Err(FilterError::Arity {
                name: "tolower".into(),
                pos: 14
            })
        );
        assert_eq!(
            parse_filter("a eq 'x", &LOOSE),
            Err(FilterError::Syntax { pos: 5 })
        );
        assert_eq!(
            parse_filter("a eq", &LOOSE),
            Err(FilterError::Syntax { pos: 4 })
        );
    }

    #[test]
    fn equality_and_ordering_follow_the_dialect_and_collation() {
        let e = parse_filter("Email eq 'anna@x.dk'", &STRICT).unwrap();
        let r = json!({"Email": "Anna@X.dk"});
        assert!(holds(&e, r.clone(), &STRICT, Collation::CaseInsensitive));
        assert!(!holds(&e, r.clone(), &STRICT, Collation::CaseSensitive));
        let lower = parse_filter("tolower(Email) eq 'anna@x.dk'", &STRICT).unwrap();
        assert!(holds(&lower, r, &STRICT, Collation::CaseSensitive));
        let ge = parse_filter("a ge 'x'", &LOOSE).unwrap();
        assert!(holds(
            &ge,
            json!({"a": 1}),
            &LOOSE,
            Collation::CaseSensitive
        ));
        assert!(!holds(
            &ge,
            json!({"a": 1}),
            &STRICT,
            Collation::CaseSensitive
        ));
        let eq = parse_filter("a eq 1.0", &LOOSE).unwrap();
        assert!(holds(
            &eq,
            json!({"a": 1}),
            &LOOSE,
            Collation::CaseSensitive
        ));
    }

    #[test]
    fn lists_split_outside_parentheses_and_quotes() {
        assert_eq!(
            split_top("a(b,c), d ,,e('x,y')", ',', true),
            ["a(b,c)", "d", "e('x,y')"]
        );
        assert_eq!(split_top("'x,y'", ',', false), ["'x", "y'"]);
        assert_eq!(parse_list(" a, ,b "), ["a", "b"]);
    }
}
