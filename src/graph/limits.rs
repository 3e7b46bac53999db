//! Limits on hostile queries beyond depth and complexity: at most so many aliases per document
//! (aliases let one small query fan out into thousands of resolver calls).

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Request, ServerError, ServerResult};
use std::sync::Arc;

/// Rejects documents with more than `max` aliases.
pub struct AliasLimit {
    /// The most aliases a document may use.
    pub max: usize,
}

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension { max: self.max })
    }
}

struct AliasLimitExtension {
    max: usize,
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

/// Aliases in every operation and fragment of a document.
pub fn aliases(doc: &ExecutableDocument) -> usize {
    let ops: usize = match &doc.operations {
        DocumentOperations::Single(op) => count(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => ops
            .values()
            .map(|op| count(&op.node.selection_set.node))
            .sum(),
    };
    ops + doc
        .fragments
        .values()
        .map(|f| count(&f.node.selection_set.node))
        .sum::<usize>()
}

#[async_trait::async_trait]
impl Extension for AliasLimitExtension {
    /// Runs after the other extensions prepared the request (so a persisted query is checked
    /// too), parses it once and hands the parsed document on.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let mut request = next.run(ctx, request).await?;
        // Parses once (the schema then reuses the document) or takes the persisted one.
        let n = aliases(request.parsed_query()?);
        if n > self.max {
            return Err(ServerError::new(
                format!(
                    "the query uses {n} aliases; at most {} are allowed",
                    self.max
                ),
                None,
            ));
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
            .extension(AliasLimit { max: 2 })
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
