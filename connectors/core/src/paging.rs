//! Paging: the gateway asks for a page size and passes back an opaque continuation that wraps
//! the vendor's own (Salesforce `nextRecordsUrl`, Akeneo `_links.next`, Klaviyo `page[cursor]`,
//! OData `@odata.nextLink`). Connectors never expose offsets they cannot honour.

use serde::{Deserialize, Serialize};

/// A request for one page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageRequest {
    /// At most this many items (a connector may return fewer).
    pub first: usize,
    /// The continuation returned with the previous page, if any.
    pub after: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The continuation for the next page; `None` on the last page.
    pub next: Option<String>,
}
