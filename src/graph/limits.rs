//! Limits on hostile queries beyond depth and complexity, checked on the parsed document before
//! validation (so before any work that grows with the document's expansion): at most so many
//! aliases (they let one small query fan out into thousands of resolver calls), at most so many
//! selections with every fragment spread expanded (a "fragment bomb" doubles per level; counted
//! here once per fragment, never expanded), and no page size (`first`) above the list-size limit.

use super::errors::BAD_USER_INPUT;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, Selection, SelectionSet,
};
use async_graphql::{Name, Request, ServerError, ServerResult, Value, Variables};
use std::collections::HashMap;
use std::sync::Arc;

/// What the HTTP layer knows about a request, attached to it as request data: whether it came
/// by GET, and (set by [`DocumentLimits`] once persisted queries are resolved and the operation
/// is known) whether it runs a mutation. A mutation named by a persisted-query hash over GET is
/// refused here, where its text is finally known; the server never caches a mutation's answer.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// The request came by GET (which may not change anything).
    pub via_get: bool,
    /// Set when the operation to run is a mutation.
    pub is_mutation: Arc<std::sync::atomic::AtomicBool>,
}

/// Whether the operation `doc` runs (the one named, else the only one) is a mutation. With
/// several operations and no name, whether any is.
pub fn runs_mutation(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::OperationType;
    match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops
                .get(name)
                .is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

/// `extensions.code` of a document refused for its size (aliases, expanded selections).
pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";

/// `extensions.code` of a mutation sent by GET (named by a persisted-query hash; with its text
/// the HTTP layer answers `405` before the schema sees it).
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";

/// The arguments that size a page or list.
pub const PAGE_ARGUMENTS: &[&str] = &["first", "last", "limit", "pageSize"];

/// How deep fragment spreads may nest (fragment inside fragment inside ...).
pub const MAX_FRAGMENT_NESTING: usize = 64;

/// The document limits of `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// The most aliases a document may use.
    pub max_aliases: usize,
    /// The most field selections a document may have with its fragment spreads expanded.
    pub max_selections: usize,
    /// The largest page size (`first`) any field may be asked for.
    pub max_list_size: usize,
}

/// The most query text [`Documents`] keeps parsed, in bytes of text (a parsed document takes
/// a few times its text).
const PARSED_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// The longest text kept: a longer one is parsed each time rather than evict many short ones.
const KEPT_TEXT_BYTES: usize = (PARSED_TEXT_BYTES / 16) as usize;

/// [`DocumentLimits`] as the schema's extension, remembering the documents it parsed.
///
/// A storefront sends the same few query texts over and over with other variables: each is
/// parsed and checked against the fixed limits (aliases, expanded selections) once, then
/// copied for the executor (several times cheaper than parsing it again). Page sizes depend on
/// the variables and are checked on every request. Only documents that parse are kept.
#[derive(Clone)]
pub struct Documents {
    limits: DocumentLimits,
    parsed: moka::sync::Cache<String, Arc<Checked>>,
}

/// A parsed document and its verdict on the limits that do not depend on variables.
struct Checked {
    doc: ExecutableDocument,
    fixed: Result<(), ServerError>,
}

impl Documents {
    /// The extension enforcing `limits`.
    pub fn new(limits: DocumentLimits) -> Self {
        Documents {
            limits,
            parsed: moka::sync::Cache::builder()
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .max_capacity(PARSED_TEXT_BYTES)
                .build(),
        }
    }

    /// `query` parsed and checked against the fixed limits, from memory when seen before.
    fn checked(&self, query: &str) -> ServerResult<Arc<Checked>> {
        if let Some(c) = self.parsed.get(query) {
            return Ok(c);
        }
        let doc = async_graphql::parser::parse_query(query)?;
        let fixed = self.limits.check_fixed(&doc);
        let c = Arc::new(Checked { doc, fixed });
        if query.len() <= KEPT_TEXT_BYTES {
            self.parsed.insert(query.to_owned(), c.clone());
        }
        Ok(c)
    }
}

impl ExtensionFactory for Documents {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

fn count(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count(&f.node.selection_set.node)
            }
            Selection::InlineFragment(i) => count(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

fn operation_sets(doc: &ExecutableDocument) -> Vec<&SelectionSet> {
    match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => {
            ops.values().map(|op| &op.node.selection_set.node).collect()
        }
    }
}

/// Aliases in every operation and fragment of a document.
pub fn aliases(doc: &ExecutableDocument) -> usize {
    let ops: usize = operation_sets(doc).into_iter().map(count).sum();
    ops + doc
        .fragments
        .values()
        .map(|f| count(&f.node.selection_set.node))
        .sum::<usize>()
}

/// Counts field selections with fragment spreads expanded, each fragment's size computed once.
struct Expansion<'a> {
    doc: &'a ExecutableDocument,
    sizes: HashMap<&'a Name, usize>,
    visiting: Vec<&'a Name>,
}

impl<'a> Expansion<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Result<usize, String> {
        let mut n = 0usize;
        for s in &set.items {
            let add = match &s.node {
                Selection::Field(f) => 1usize.saturating_add(self.set(&f.node.selection_set.node)?),
                Selection::InlineFragment(i) => self.set(&i.node.selection_set.node)?,
                Selection::FragmentSpread(s) => self.fragment(&s.node.fragment_name.node)?,
            };
            n = n.saturating_add(add);
        }
        Ok(n)
    }

    fn fragment(&mut self, name: &'a Name) -> Result<usize, String> {
        if let Some(n) = self.sizes.get(name) {
            return Ok(*n);
        }
        // A cycle or an unknown fragment: validation reports it; it adds nothing here.
        let Some(f) = self.doc.fragments.get(name) else {
            return Ok(0);
        };
        if self.visiting.contains(&name) {
            return Ok(0);
        }
        if self.visiting.len() >= MAX_FRAGMENT_NESTING {
            return Err(format!(
                "fragment spreads nest more than {MAX_FRAGMENT_NESTING} deep"
            ));
        }
        self.visiting.push(name);
        let n = self.set(&f.node.selection_set.node);
        self.visiting.pop();
        let n = n?;
        self.sizes.insert(name, n);
        Ok(n)
    }
}

/// Field selections of every operation of a document with its fragment spreads expanded
/// (saturating), without expanding them: linear in the document's size. Fragment spreads
/// nested deeper than [`MAX_FRAGMENT_NESTING`] are an error.
pub fn expanded_selections(doc: &ExecutableDocument) -> Result<usize, String> {
    let mut e = Expansion {
        doc,
        sizes: HashMap::new(),
        visiting: Vec::new(),
    };
    let mut n = 0usize;
    for set in operation_sets(doc) {
        n = n.saturating_add(e.set(set)?);
    }
    Ok(n)
}

/// A variable's value in this request, else its default in the document.
fn variable(doc: &ExecutableDocument, vars: &Variables, name: &Name) -> Option<Value> {
    use async_graphql::parser::types::OperationDefinition;
    if let Some(v) = vars.get(name) {
        return Some(v.clone());
    }
    let find = |op: &OperationDefinition| {
        op.variable_definitions
            .iter()
            .find(|v| &v.node.name.node == name)
            .and_then(|v| v.node.default_value.as_ref().map(|d| d.node.clone()))
    };
    match &doc.operations {
        DocumentOperations::Single(op) => find(&op.node),
        DocumentOperations::Multiple(ops) => ops.values().find_map(|op| find(&op.node)),
    }
}

/// An integer argument's value.
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// A page argument this request may not use.
enum PageProblem {
    /// Over the limit: field, argument, value.
    TooLarge(String, String, i64),
    /// Not an integer: field, argument, the value as written. (Validation would say so too,
    /// twice over with the cost function that reads it; refused here, it is said once.)
    NotAnInt(String, String, String),
}

/// The first page argument in the document above `max` or not an integer.
fn page_problem(doc: &ExecutableDocument, vars: &Variables, max: usize) -> Option<PageProblem> {
    fn walk(
        set: &SelectionSet,
        check: &mut dyn FnMut(&Field) -> Option<PageProblem>,
    ) -> Option<PageProblem> {
        set.items.iter().find_map(|s| match &s.node {
            Selection::Field(f) => {
                check(&f.node).or_else(|| walk(&f.node.selection_set.node, check))
            }
            Selection::InlineFragment(i) => walk(&i.node.selection_set.node, check),
            Selection::FragmentSpread(_) => None,
        })
    }
    let mut check = |f: &Field| {
        f.arguments.iter().find_map(|(name, value)| {
            if !PAGE_ARGUMENTS.contains(&name.node.as_str()) {
                return None;
            }
            // An undefined variable is validation's to report.
            let v = value
                .node
                .clone()
                .into_const_with(|name| variable(doc, vars, &name).ok_or(()))
                .ok()?;
            let (field, arg) = (f.name.node.to_string(), name.node.to_string());
            match as_int(&v) {
                Some(n) if n > max as i64 => Some(PageProblem::TooLarge(field, arg, n)),
                Some(_) => None,
                None => Some(PageProblem::NotAnInt(field, arg, v.to_string())),
            }
        })
    };
    operation_sets(doc)
        .into_iter()
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
        .find_map(|set| walk(set, &mut check))
}

/// The cost of a list field for `max_complexity`: one for the field plus its page size times
/// the cost of one item, so the limit bounds the work of every page asked for.
pub fn page_cost(first: i32, child_complexity: usize) -> usize {
    (first.max(0) as usize)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

fn refusal(code: &'static str, message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    e
}

impl DocumentLimits {
    /// Checks a parsed document (with the request's variables) against the limits.
    pub fn check(&self, doc: &ExecutableDocument, vars: &Variables) -> Result<(), ServerError> {
        self.check_fixed(doc)?;
        self.check_pages(doc, vars)
    }

    /// The limits that do not depend on variables: aliases and expanded selections.
    fn check_fixed(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        let n = aliases(doc);
        if n > self.max_aliases {
            return Err(refusal(
                LIMIT_EXCEEDED,
                format!(
                    "the query uses {n} aliases; at most {} are allowed (server.max_aliases)",
                    self.max_aliases
                ),
            ));
        }
        let n = expanded_selections(doc).map_err(|e| refusal(LIMIT_EXCEEDED, e))?;
        if n > self.max_selections {
            let shown = if n == usize::MAX {
                "more than can be counted".to_owned()
            } else {
                n.to_string()
            };
            return Err(refusal(
                LIMIT_EXCEEDED,
                format!(
                    "the query selects {shown} fields with its fragments expanded; at most {} are allowed (server.max_selections)",
                    self.max_selections
                ),
            ));
        }
        Ok(())
    }

    /// Page sizes, literal or from `vars`.
    fn check_pages(&self, doc: &ExecutableDocument, vars: &Variables) -> Result<(), ServerError> {
        match page_problem(doc, vars, self.max_list_size) {
            Some(PageProblem::TooLarge(field, arg, n)) => Err(refusal(
                BAD_USER_INPUT,
                format!(
                    "`{arg}` on `{field}` is {n}; at most {} items per page are allowed (server.max_list_size)",
                    self.max_list_size
                ),
            )),
            Some(PageProblem::NotAnInt(field, arg, v)) => Err(refusal(
                BAD_USER_INPUT,
                format!("`{arg}` on `{field}` is {v}; a page size is an integer"),
            )),
            None => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Extension for Documents {
    /// Runs after the other extensions prepared the request (so a persisted query is checked
    /// too), parses it once and hands the parsed document on.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let mut request = next.run(ctx, request).await?;
        let vars = request.variables.clone();
        let name = request.operation_name.clone();
        let op = request
            .data
            .get(&std::any::TypeId::of::<Operation>())
            .and_then(|d| d.downcast_ref::<Operation>())
            .cloned();
        // Parsed once per text (the schema then takes a copy). Automatic persisted queries
        // hand over their stored document with no text.
        let checked;
        let doc = if request.query.is_empty() {
            let doc = request.parsed_query()?;
            self.limits.check_fixed(doc)?;
            doc
        } else {
            checked = self.checked(&request.query)?;
            checked.fixed.clone()?;
            request.set_parsed_query(checked.doc.clone());
            &checked.doc
        };
        self.limits.check_pages(doc, &vars)?;
        if let Some(op) = op {
            if runs_mutation(doc, name.as_deref()) {
                if op.via_get {
                    return Err(refusal(
                        METHOD_NOT_ALLOWED,
                        "mutations must be sent with POST".into(),
                    ));
                }
                op.is_mutation
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: locations { code } b: locations { x: code } ...F } fragment F on Query { c: locations { code } }",
        )
        .unwrap();
        assert_eq!(aliases(&doc), 4);
    }

    #[test]
    fn fragment_spreads_are_counted_expanded_without_expanding_them() {
        // Each level doubles: 2^40 selections, counted in linear time.
        let mut q = String::from("query { ...F0 }\n");
        for i in 0..40 {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        q.push_str("fragment F40 on Query { locations { code } }");
        let doc = async_graphql::parser::parse_query(&q).unwrap();
        assert_eq!(expanded_selections(&doc).unwrap(), 2 << 40);
        // A cycle adds nothing (validation reports it); a chain too deep is an error.
        let doc = async_graphql::parser::parse_query(
            "{ ...A } fragment A on Query { x ...B } fragment B on Query { y ...A }",
        )
        .unwrap();
        assert_eq!(expanded_selections(&doc).unwrap(), 2);
        let mut chain = String::from("{ ...F0 }\n");
        for i in 0..100 {
            chain.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        let doc = async_graphql::parser::parse_query(&chain).unwrap();
        assert!(expanded_selections(&doc)
            .unwrap_err()
            .contains("nest more than 64"));
    }

    #[test]
    fn page_sizes_are_read_from_literals_variables_and_defaults() {
        let limits = DocumentLimits {
            max_aliases: 10,
            max_selections: 100,
            max_list_size: 100,
        };
        let check = |q: &str, vars: serde_json::Value| {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            let vars = Variables::from_json(vars);
            limits.check(&doc, &vars).map_err(|e| e.message)
        };
        assert!(check(
            "{ products(first: 100) { nodes { name } } }",
            serde_json::json!({})
        )
        .is_ok());
        let e = check(
            "{ products(first: 101) { nodes { name } } }",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "`first` on `products` is 101; at most 100 items per page are allowed (server.max_list_size)"
        );
        let q = "query($n: Int = 500) { x { ...F } } fragment F on X { orders(first: $n) { id } }";
        assert!(check(q, serde_json::json!({}))
            .unwrap_err()
            .contains("`first` on `orders` is 500"));
        assert!(check(q, serde_json::json!({ "n": 5 })).is_ok());
        let e = check(q, serde_json::json!({ "n": "twenty" })).unwrap_err();
        assert_eq!(
            e,
            "`first` on `orders` is \"twenty\"; a page size is an integer"
        );
    }

    #[test]
    fn a_remembered_document_is_still_checked_with_each_request_s_variables() {
        let docs = Documents::new(DocumentLimits {
            max_aliases: 1,
            max_selections: 100,
            max_list_size: 10,
        });
        let q = "query($n: Int) { products(first: $n) { nodes { name } } }";
        let pages = |n: i32| {
            let c = docs.checked(q).unwrap();
            c.fixed.clone()?;
            let vars = Variables::from_json(serde_json::json!({ "n": n }));
            docs.limits.check_pages(&c.doc, &vars)
        };
        assert!(pages(5).is_ok());
        assert!(Arc::ptr_eq(
            &docs.checked(q).unwrap(),
            &docs.checked(q).unwrap()
        ));
        assert!(pages(50)
            .unwrap_err()
            .message
            .contains("`first` on `products` is 50"));
        assert!(pages(10).is_ok());
        // The fixed verdict is remembered with the document, refusals too.
        let bomb = "{ a: products { nodes { name } } b: products { nodes { name } } }";
        for _ in 0..2 {
            let c = docs.checked(bomb).unwrap();
            assert!(c.fixed.clone().unwrap_err().message.contains("2 aliases"));
        }
        // What does not parse is refused each time and not kept.
        assert!(docs.checked("{ products(").is_err());
        docs.parsed.run_pending_tasks();
        assert_eq!(docs.parsed.entry_count(), 2);
    }

    #[tokio::test]
    async fn persisted_queries_register_and_run_and_still_count_aliases() {
        use async_graphql::extensions::apollo_persisted_queries::{
            ApolloPersistedQueries, LruCacheStorage,
        };
        use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
        struct Q;
        #[Object]
        impl Q {
            async fn one(&self) -> i32 {
                1
            }
        }
        let schema = Schema::build(Q, EmptyMutation, EmptySubscription)
            .extension(Documents::new(DocumentLimits {
                max_aliases: 2,
                max_selections: 100,
                max_list_size: 10,
            }))
            .extension(ApolloPersistedQueries::new(LruCacheStorage::new(8)))
            .finish();
        let with = |query: &str, hash: &str| {
            let mut r = Request::new(query);
            r.extensions.insert(
                "persistedQuery".into(),
                async_graphql::Value::from_json(
                    serde_json::json!({ "version": 1, "sha256Hash": hash }),
                )
                .unwrap(),
            );
            r
        };
        let q = "{ a: one b: one c: one }";
        let hash = "f5b9c1b1e8c5ad1c1ac30ed2d1e1c9a1b4b5e2f0c5b2d93a06c9ab1a0b9f1e2d";
        let r = schema.execute(with("", hash)).await;
        assert_eq!(r.errors[0].message, "PersistedQueryNotFound");
        use sha2::Digest;
        let real = format!("{:x}", sha2::Sha256::digest(q.as_bytes()));
        let r = schema.execute(with(q, &real)).await;
        assert!(r.errors[0].message.contains("3 aliases"), "{:?}", r.errors);
        let ok = "{ a: one b: one }";
        let real = format!("{:x}", sha2::Sha256::digest(ok.as_bytes()));
        assert!(schema.execute(with(ok, &real)).await.errors.is_empty());
        let r = schema.execute(with("", &real)).await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
}
