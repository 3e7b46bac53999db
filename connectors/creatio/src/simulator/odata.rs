//! The OData 4 query options as the simulator understands them: `$filter` (parsed into a tree,
//! checked against ASP.NET OData's default node limit, evaluated with the database's string
//! comparison rules), `$select`, nested `$expand`, `$orderby`, `$top`, `$skip` and `$count`.
//!
//! Not understood (answered with an OData error): the `in` operator, lambda operators
//! (`any`/`all`), arithmetic, `$search`, `$apply`, `$compute`, and options other than
//! `$select`/`$expand` inside an `$expand`.

use axum::http::StatusCode;
pub(crate) use samlet_testkit::sim::odata::Collation;
use samlet_testkit::sim::odata::{
    self as shared, parse_list, split_top, Cmp, Dialect, Equality, Expr, FilterError, Func,
};
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
// $filter: the shared OData 4 parser, with ASP.NET OData's rules as Creatio runs them

/// Creatio's `$filter` rules for the shared parser: unquoted GUIDs, property paths (one node
/// per segment), `trim`, no `in`/`has`/arithmetic, and text compared by the database's
/// collation.
pub(crate) const DIALECT: Dialect = Dialect {
    guid_literals: true,
    dollar_names: false,
    functions: &[
        Func::ToLower,
        Func::ToUpper,
        Func::Trim,
        Func::Contains,
        Func::StartsWith,
        Func::EndsWith,
    ],
    check_function_first: true,
    in_operator: false,
    unsupported_operators: &["in", "has", "add", "sub", "mul", "div", "mod"],
    strict_paths: true,
    count_path_segments: true,
    equality: Equality::Ordering,
    incomparable: Ordering::Less,
};

fn syntax(filter: &str, pos: usize) -> ODataError {
    ODataError::invalid_query(format!(
        "Syntax error at position {pos} in '{}'.",
        filter.chars().take(200).collect::<String>()
    ))
}

/// Parses a `$filter` value.
pub(crate) fn parse_filter(filter: &str) -> Result<Expr, ODataError> {
    shared::parse_filter(filter, &DIALECT).map_err(|e| match e {
        FilterError::Syntax { pos } => syntax(filter, pos),
        FilterError::UnknownFunction(w) => ODataError::invalid_query(format!(
            "An unknown function with name '{w}' was found."
        )),
        FilterError::Arity { name: w, .. } => ODataError::invalid_query(format!(
            "No function signature for the function with name '{w}' matches the specified arguments."
        )),
        FilterError::Unsupported(w) => ODataError::not_simulated(format!("The '{w}' operator")),
    })
}

/// Which rows a filter pins, for the simulator's indexes.
pub(crate) trait Pinned {
    /// The `(path, text)` pairs the filter pins rows to: an `or` chain of `path eq 'text'`
    /// comparisons (bare or inside `tolower`/`toupper`/`trim`), or such a chain anywhere in
    /// the top-level `and` chain. `None` when the filter pins nothing (the rows must be
    /// scanned).
    fn pinned(&self) -> Option<Vec<(String, String)>>;
}

impl Pinned for Expr {
    fn pinned(&self) -> Option<Vec<(String, String)>> {
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
}

/// Orders values the way the database does: null first, text by the collation.
pub(crate) fn compare(a: &Value, b: &Value, c: Collation) -> Ordering {
    shared::compare(a, b, &DIALECT, c)
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

/// Parses `$expand`, e.g. `Addresses($select=Zip;$expand=Country($select=Code)),Owner`.
pub(crate) fn parse_expand(s: &str) -> Result<Vec<ExpandItem>, ODataError> {
    let bad = || ODataError::invalid_query(format!("The $expand value '{s}' is not valid."));
    split_top(s, ',', true)
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
            for opt in split_top(opts, ';', true) {
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
                let nodes = e.node_count(&DIALECT);
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
        assert!(shared::truthy(&e.eval(
            &get,
            &DIALECT,
            Collation::CaseSensitive
        )));
        let mut paths = Vec::new();
        e.paths(&mut paths);
        assert_eq!(paths.len(), 3);
        assert_eq!(paths[1], ["PrimaryContact".to_owned(), "Email".to_owned()]);
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
        assert_eq!(
            parse_filter("Email eq 'a'").unwrap().node_count(&DIALECT),
            3
        );
        assert_eq!(
            parse_filter("tolower(PrimaryContact/Email) eq 'a'")
                .unwrap()
                .node_count(&DIALECT),
            5
        );
        let chain: Vec<String> = (0..16)
            .map(|i| format!("tolower(PrimaryContact/Email) eq 'a{i}@x.dk'"))
            .collect();
        assert_eq!(
            parse_filter(&chain.join(" or "))
                .unwrap()
                .node_count(&DIALECT),
            95
        );
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
