//! Persisted queries beyond automatic registration: the safelist (only operations listed in an
//! Apollo persisted-query manifest run, sent by hash or as text) and persisted queries off.
//! `[server] persisted_queries` chooses; `automatic` is async-graphql's
//! `ApolloPersistedQueries` (see [`super::build_schema`]).

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, ServerError, ServerResult};
use serde::Deserialize;
use sha2::Digest;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// `extensions.code` of an operation the safelist does not hold (or an attempt to register one).
pub const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";
/// `extensions.code` of a persisted-query request to a gateway with persisted queries off.
pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";

/// How the gateway treats persisted queries (`[server] persisted_queries`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PersistedQueries {
    /// Automatic persisted queries: a client registers a query by sending its text with its
    /// sha256, then sends the hash alone. Any query runs.
    #[default]
    Automatic,
    /// Only the operations in `[server] safelist` run, by hash or as text; nothing registers.
    Safelist,
    /// No persisted queries: every request sends its text.
    Off,
}

/// One operation of a manifest, as the file holds it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestOperation {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type")]
    ty: String,
    body: String,
    // Written by some generators (e.g. Apollo's client tooling); not used.
    #[serde(default, rename = "clientName")]
    _client_name: Option<String>,
}

/// An Apollo persisted-query manifest (`format` and `version` as Apollo writes them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    version: u64,
    operations: Vec<ManifestOperation>,
}

/// The operations a safelist allows, by the sha256 (lowercase hex) of their text.
#[derive(Clone)]
pub struct Safelist {
    ops: HashMap<String, (String, ExecutableDocument)>,
}

impl std::fmt::Debug for Safelist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Safelist({} operations)", self.ops.len())
    }
}

/// The lowercase hex sha256 of `text`, as persisted-query ids are written.
pub fn sha256_hex(text: &str) -> String {
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

impl Safelist {
    /// Reads the manifest at `path`. The error says what is wrong, without the file's name
    /// (the caller names it).
    pub fn load(path: &Path) -> Result<Safelist, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        Safelist::parse(&text)
    }

    /// Parses a manifest's text: every id must be the sha256 of its body, every body one
    /// operation that parses, of the type stated.
    pub fn parse(text: &str) -> Result<Safelist, String> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| {
            format!("not an Apollo persisted-query manifest ({{\"format\":\"apollo-persisted-query-manifest\",\"version\":1,\"operations\":[...]}}): {e}")
        })?;
        if m.format != "apollo-persisted-query-manifest" {
            return Err(format!(
                "`format` is \"{}\"; expected \"apollo-persisted-query-manifest\"",
                m.format
            ));
        }
        if m.version != 1 {
            return Err(format!("`version` is {}; only 1 is known", m.version));
        }
        let mut ops = HashMap::new();
        for (i, op) in m.operations.into_iter().enumerate() {
            let what = match &op.name {
                Some(n) => format!("operations[{i}] ({n})"),
                None => format!("operations[{i}]"),
            };
            let hash = sha256_hex(&op.body);
            if !op.id.eq_ignore_ascii_case(&hash) {
                return Err(format!(
                    "{what}: `id` is not the sha256 of `body` (that is {hash})"
                ));
            }
            let doc = async_graphql::parser::parse_query(&op.body)
                .map_err(|e| format!("{what}: `body` is not a GraphQL document: {e}"))?;
            let ty = match &doc.operations {
                async_graphql::parser::types::DocumentOperations::Single(o) => o.node.ty,
                async_graphql::parser::types::DocumentOperations::Multiple(m) if m.len() == 1 => m
                    .values()
                    .map(|o| o.node.ty)
                    .next()
                    .unwrap_or(OperationType::Query),
                async_graphql::parser::types::DocumentOperations::Multiple(m) => {
                    return Err(format!(
                        "{what}: `body` holds {} operations; a manifest entry is one",
                        m.len()
                    ))
                }
            };
            let stated = ty.to_string();
            if stated != op.ty {
                return Err(format!(
                    "{what}: `type` is \"{}\" but `body` is a {stated}",
                    op.ty
                ));
            }
            ops.insert(hash, (op.body, doc));
        }
        Ok(Safelist { ops })
    }

    /// A safelist that allows nothing.
    pub fn empty() -> Safelist {
        Safelist {
            ops: HashMap::new(),
        }
    }

    /// How many operations the safelist allows.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the safelist allows nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Refuses what the persisted-query mode does not allow (`safelist` or `off`).
pub enum Gate {
    /// Only these operations run.
    Safelist(Arc<Safelist>),
    /// Requests naming a persisted query are refused.
    Off,
}

impl ExtensionFactory for Gate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(match self {
            Gate::Safelist(s) => GateExtension(Some(s.clone())),
            Gate::Off => GateExtension(None),
        })
    }
}

struct GateExtension(Option<Arc<Safelist>>);

fn refused(code: &'static str, message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    e
}

/// The `sha256Hash` a request's `extensions.persistedQuery` names, if it names one.
fn requested_hash(request: &Request) -> Option<Option<String>> {
    let pq = request.extensions.get("persistedQuery")?;
    let hash = match pq {
        async_graphql::Value::Object(o) => match o.get("sha256Hash") {
            Some(async_graphql::Value::String(h)) => Some(h.to_ascii_lowercase()),
            _ => None,
        },
        _ => None,
    };
    Some(hash)
}

#[async_trait::async_trait]
impl Extension for GateExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let asked = requested_hash(&request);
        let Some(list) = &self.0 else {
            if asked.is_some() {
                return Err(refused(
                    PERSISTED_QUERY_NOT_SUPPORTED,
                    "PersistedQueryNotSupported: persisted queries are off (server.persisted_queries = \"off\"); send the query's text".into(),
                ));
            }
            return next.run(ctx, request).await;
        };
        let has_text = !request.query.trim().is_empty();
        let hash = match (has_text, asked.flatten()) {
            (true, Some(h)) if h != sha256_hex(&request.query) => {
                return Err(refused(
                    PERSISTED_QUERY_NOT_ALLOWED,
                    "extensions.persistedQuery.sha256Hash is not the sha256 of `query`".into(),
                ))
            }
            (true, Some(_)) => {
                // Sending text with its hash registers it under automatic persisted queries.
                let h = sha256_hex(&request.query);
                if !list.ops.contains_key(&h) {
                    return Err(refused(
                        PERSISTED_QUERY_NOT_ALLOWED,
                        format!("this gateway runs only safelisted operations and registers none (server.persisted_queries = \"safelist\"); {h} is not in the manifest"),
                    ));
                }
                h
            }
            (true, None) => sha256_hex(&request.query),
            (false, Some(h)) => h,
            (false, None) => {
                return Err(refused(
                    PERSISTED_QUERY_NOT_ALLOWED,
                    "the request names no operation: send `extensions.persistedQuery.sha256Hash` of a safelisted operation".into(),
                ))
            }
        };
        let Some((body, doc)) = list.ops.get(&hash) else {
            return Err(refused(
                PERSISTED_QUERY_NOT_ALLOWED,
                format!("this gateway runs only safelisted operations (server.persisted_queries = \"safelist\"); {hash} is not in the manifest"),
            ));
        };
        if !has_text {
            request.query = body.clone();
        }
        request.set_parsed_query(doc.clone());
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(ops: &[(&str, &str)]) -> String {
        let ops: Vec<_> = ops
            .iter()
            .map(|(ty, body)| serde_json::json!({ "id": sha256_hex(body), "name": "Op", "type": ty, "body": body }))
            .collect();
        serde_json::json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": ops })
            .to_string()
    }

    #[test]
    fn a_manifest_is_checked_entry_by_entry() {
        let ok = Safelist::parse(&manifest(&[("query", "query Op { locations { code } }")]));
        assert_eq!(ok.unwrap().len(), 1);
        let e = Safelist::parse(&manifest(&[("mutation", "query Op { x }")])).unwrap_err();
        assert!(
            e.contains("operations[0] (Op): `type` is \"mutation\""),
            "{e}"
        );
        let e = Safelist::parse(&manifest(&[("query", "query Op {")])).unwrap_err();
        assert!(e.contains("not a GraphQL document"), "{e}");
        let bad_id = r#"{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"abc","type":"query","body":"{ x }"}]}"#;
        let e = Safelist::parse(bad_id).unwrap_err();
        assert!(
            e.contains("operations[0]: `id` is not the sha256 of `body`"),
            "{e}"
        );
        let e =
            Safelist::parse("{\"format\":\"other\",\"version\":1,\"operations\":[]}").unwrap_err();
        assert!(e.contains("`format` is \"other\""), "{e}");
        assert!(Safelist::parse("[]").unwrap_err().contains("not an Apollo"));
    }
}
