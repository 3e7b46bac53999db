//! The OData v4 query dialect of Business Central, as the simulator understands it: `$filter`
//! parsing, validation against Business Central's rules (no `or` across distinct fields, at
//! most 100 nodes, values no longer than their field), evaluation over JSON rows, `$orderby`,
//! `$select`, nested `$expand`, `$top`, `Prefer: odata.maxpagesize` and skip tokens.

use axum::http::StatusCode;
use samlet_testkit::sim::odata::{
    self as shared, split_top, Collation, Dialect, Equality, FilterError, Func,
};
pub use samlet_testkit::sim::odata::{parse_list, Cmp, Expr};
use serde_json::Value;
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
// $filter: the shared OData v4 parser, with Business Central's rules

/// Business Central's `$filter` rules for the shared parser: `in` lists, names may start
/// with `$`, property names are compared whole (an `in` list and a property count one node
/// each), text compares case-sensitively and values of different types order as equal.
pub const DIALECT: Dialect = Dialect {
    guid_literals: false,
    dollar_names: true,
    functions: &[
        Func::ToLower,
        Func::ToUpper,
        Func::Contains,
        Func::StartsWith,
        Func::EndsWith,
    ],
    check_function_first: false,
    in_operator: true,
    unsupported_operators: &[],
    strict_paths: false,
    count_path_segments: false,
    equality: Equality::Json,
    incomparable: Ordering::Equal,
};

fn syntax(filter: &str, pos: usize) -> ODataError {
    ODataError::bad_request(
        "BadRequest_NotFound",
        format!("Syntax error at position {pos} in '{filter}'."),
    )
}

/// Parses a `$filter` value.
pub fn parse_filter(filter: &str) -> Result<Expr, ODataError> {
    shared::parse_filter(filter, &DIALECT).map_err(|e| match e {
        FilterError::Syntax { pos } | FilterError::Arity { pos, .. } => syntax(filter, pos),
        FilterError::UnknownFunction(w) => ODataError::bad_request(
            "BadRequest_NotFound",
            format!("An unknown function with name '{w}' was found."),
        ),
        FilterError::Unsupported(w) => {
            ODataError::not_implemented(format!("The '{w}' operator is not supported."))
        }
    })
}

/// The property name a path stands for (Business Central names are not paths).
fn name(path: &[String]) -> String {
    path.join("/")
}

/// Business Central's reading of a parsed filter.
pub trait FilterExt {
    /// Every property the expression reads.
    fn properties(&self, out: &mut BTreeSet<String>);
    /// Business Central turns filters into AL filters per field, so `or` may only join
    /// conditions on one field.
    fn check_or(&self) -> Result<(), ODataError>;
    /// Text literals compared with a property, with the property's name.
    fn compared_texts(&self, out: &mut Vec<(String, String)>);
    /// Values that `field` is pinned to by the filter: an `eq`/`in` on the field (bare or
    /// inside `tolower`/`toupper`) at the top level of the `and` chain, or an `or` chain of
    /// such. `None` when the filter does not pin the field.
    fn pinned(&self, field: &str) -> Option<Vec<Value>>;
    /// Whether `row` passes the filter.
    fn matches(&self, row: &Value) -> bool;
}

impl FilterExt for Expr {
    fn properties(&self, out: &mut BTreeSet<String>) {
        let mut paths = Vec::new();
        self.paths(&mut paths);
        out.extend(paths.into_iter().map(name));
    }

    fn check_or(&self) -> Result<(), ODataError> {
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
            Expr::Call(_, args) => args.iter().try_for_each(FilterExt::check_or),
            Expr::Path(_) | Expr::Lit(_) => Ok(()),
        }
    }

    fn compared_texts(&self, out: &mut Vec<(String, String)>) {
        let prop = |e: &Expr| -> Option<String> {
            match e {
                Expr::Path(p) => Some(name(p)),
                Expr::Call(_, args) => match args.first() {
                    Some(Expr::Path(p)) => Some(name(p)),
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
            Expr::Path(_) | Expr::Lit(_) => {}
        }
    }

    fn pinned(&self, field: &str) -> Option<Vec<Value>> {
        fn on_field(e: &Expr, field: &str) -> bool {
            match e {
                Expr::Path(p) => name(p) == field,
                Expr::Call(Func::ToLower | Func::ToUpper, args) => {
                    matches!(args.as_slice(), [Expr::Path(p)] if name(p) == field)
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

    fn matches(&self, row: &Value) -> bool {
        row.as_object().is_some_and(|r| {
            let get = |p: &[String]| -> Value {
                let v = match p {
                    [one] => r.get(one),
                    _ => r.get(&name(p)),
                };
                v.cloned().unwrap_or(Value::Null)
            };
            shared::truthy(&self.eval(&get, &DIALECT, Collation::CaseSensitive))
        })
    }
}

/// Orders JSON values the way `$orderby` does: null first, then by type.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    shared::compare(a, b, &DIALECT, Collation::CaseSensitive)
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

/// Parses `$expand`, e.g. `salesOrderLines($expand=itemVariant,location;$select=sequence)`.
pub fn parse_expand(s: &str) -> Result<Vec<ExpandItem>, ODataError> {
    let bad = || {
        ODataError::bad_request(
            "BadRequest_InvalidRequestUrl",
            format!("The $expand value '{s}' is not valid."),
        )
    };
    split_top(s, ',', false)
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
            for opt in split_top(opts, ';', false) {
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
        assert_eq!(e.node_count(&DIALECT), 3);
        let chain: Vec<String> = (0..21)
            .map(|i| format!("tolower(email) eq 'a{i}@x.dk'"))
            .collect();
        assert!(
            parse_filter(&chain.join(" or "))
                .unwrap()
                .node_count(&DIALECT)
                > MAX_NODE_COUNT
        );
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
