//! `samlet-salesforce`: the Salesforce Platform REST API (CRM) as a Samlet customer source and
//! wishlist store.
//!
//! # What it serves, and why
//! [`Capability::Customers`]: the CRM is the system of record for who a customer is (names,
//! e-mail, phone, address, the shared customer number and the loyalty member number).
//! [`Capability::Wishlists`]: a wishlist kept beside the customer in the CRM, the same on
//! every device and visible to store associates and service agents in Salesforce. Salesforce
//! also has products, price books and orders, but in this stack the PIM, ERP and commerce
//! systems own those, so the connector does not offer them.
//!
//! # The org model it expects
//! - A **person** is a `Contact` that carries the shared customer number.
//! - A **company** is a business `Account` that carries the customer number, with a lookup
//!   to its primary `Contact` (the contact person, whose names and e-mail the record shows).
//!   That contact person has no number of its own and is answered through its Account.
//! - Custom fields on both objects: the customer number (an external-id text field), the
//!   loyalty number, and the phone in E.164 (`Phone_E164__c`: a formula or trigger-maintained
//!   field, because `Phone` holds what people typed, e.g. `12 34 56 78`, which a filter for
//!   `+4512345678` cannot match). The names are configurable (`[fields]`).
//! - State and country picklists are on, so `MailingCountryCode` / `BillingCountryCode` hold
//!   ISO 3166 codes; phones are normalised to E.164 with that country.
//!
//! - For wishlists, a custom object (Salesforce has no standard one), by default
//!   `Wishlist_Item__c` with `Contact__c` (lookup to Contact, set for persons), `Account__c`
//!   (lookup to Account, set for companies), `Customer_Number__c` (text), `SKU__c` (text),
//!   `Added_At__c` (date/time), `Channel__c` (restricted picklist `web`, `app`, `store`,
//!   `kiosk`, `pos`, `email`) and `Samlet_Key__c` (text 255, **External ID, Unique**), which
//!   holds `<customer number>|<sku>`. The names are configurable (`[wishlist]`).
//!
//! Mapped: number, kind, e-mail (lower-cased), phone (E.164), first and last name, company
//! name (`Account.Name`), loyalty number, address (mailing for persons, billing for
//! companies) and `LastModifiedDate`. Not mapped (the CRM does not hold them here): loyalty
//! tier, customer group, consents.
//!
//! # Configuration (`[connectors.<name>]`, `kind = "salesforce"`)
//! | key | default | meaning |
//! |---|---|---|
//! | `login_url` | (required) | the org's My Domain URL; the token endpoint is `{login_url}/services/oauth2/token` |
//! | `client_id` | (required) | consumer key of a connected app with the client-credentials flow |
//! | `client_secret` | (required) | its consumer secret (write `"${ENV_VAR}"`) |
//! | `api_version` | `"62.0"` | REST API version, 38.0 or later |
//! | `query_batch_size` | `2000` | records per query response (200–2000) |
//! | `fields.customer_number` | `"Customer_Number__c"` | customer number field on Contact and Account |
//! | `fields.loyalty_number` | `"Loyalty_Number__c"` | loyalty number field on Contact and Account |
//! | `fields.phone_e164` | `"Phone_E164__c"` | E.164 phone field on Contact and Account |
//! | `fields.primary_contact` | `"Primary_Contact__r"` | relationship from Account to its primary Contact |
//! | `wishlist.object` | `"Wishlist_Item__c"` | the wishlist custom object |
//! | `wishlist.contact` | `"Contact__c"` | its lookup to a person's Contact |
//! | `wishlist.account` | `"Account__c"` | its lookup to a company's Account |
//! | `wishlist.customer_number` | `"Customer_Number__c"` | its customer number field (the list is read by it) |
//! | `wishlist.sku` | `"SKU__c"` | its SKU field |
//! | `wishlist.added_at` | `"Added_At__c"` | its date/time added (set on create only) |
//! | `wishlist.channel` | `"Channel__c"` | its channel picklist |
//! | `wishlist.key` | `"Samlet_Key__c"` | its unique external id, `<customer number>\|<sku>` |
//!
//! # Endpoints used
//! - `POST {login_url}/services/oauth2/token` with `grant_type=client_credentials`: gives
//!   `access_token` and `instance_url`. Tokens have no expiry; the connector keeps one until
//!   a call answers 401 `INVALID_SESSION_ID`, then fetches a new one and repeats the call once.
//! - `POST {instance_url}/services/data/vXX.X/composite`: a batch of keys becomes a Contact
//!   query and an Account query (`SELECT … WHERE Customer_Number__c IN (…) OR Email IN (…) OR
//!   Phone_E164__c IN (…) OR Loyalty_Number__c IN (…) OR Id IN (…)`), sent as two subrequests
//!   of one composite call: **one API call per batch**. `Id IN` holds the record ids asked for
//!   as external ids of this connector, each in the query of the sObject its key prefix names
//!   (`003` Contact, `001` Account; a batch of ids only costs that sObject's query); ids that
//!   are not 15 or 18 alphanumeric characters are not sent, because Salesforce fails the whole
//!   query over one malformed id. Key lists are chunked so that each query URL
//!   stays under 16,000 characters (Salesforce refuses URIs over 16,384 bytes); a chunk holds
//!   about 350 e-mails or 800 customer numbers and costs two queries, and a composite call
//!   carries at most five queries. So one call answers up to ~700 e-mail keys (~1,650
//!   customer numbers); larger batches take one call per five queries, four in flight.
//! - `GET {instance_url}/services/data/vXX.X/query?q=…`: a query left alone in the last
//!   group of a large batch goes out on its own, without the composite wrapper.
//! - `GET {instance_url}{nextRecordsUrl}`: the next page of a query holding more records than
//!   `query_batch_size` (sent as `Sforce-Query-Options: batchSize=N`).
//!
//! - Wishlists (see `wishlists.rs` for the reasoning):
//!   - read: `GET …/query?q=SELECT Id, SKU__c, Added_At__c, Channel__c, Samlet_Key__c,
//!     CreatedDate FROM Wishlist_Item__c WHERE Customer_Number__c = '…' ORDER BY Added_At__c,
//!     Id`, following `nextRecordsUrl`: 1 call per 2,000 items.
//!   - add: one composite call with that query and the customer's Contact and Account id
//!     queries; if the SKU is already on the list nothing is written (1 call). Else
//!     `PATCH …/sobjects/Wishlist_Item__c/Samlet_Key__c/{customer|sku}` (percent-encoded) with
//!     the lookup (`Contact__c` for a person, `Account__c` for a company), customer number,
//!     SKU, `Added_At__c` (now, to the millisecond) and `Channel__c` (the request's channel):
//!     `201 {"id","success","errors","created":true}` (2 calls). `200 … "created":false`
//!     (or `204` before API 46.0) means someone created it meanwhile: the list is read again.
//!   - remove: the read; a SKU not on it needs no call (1 call). Else `DELETE
//!     …/sobjects/Wishlist_Item__c/Samlet_Key__c/{customer|sku}` (by record id for a row made
//!     outside Samlet without a key); 204, or 404 `NOT_FOUND` / `ENTITY_IS_DELETED` (already
//!     gone) both count as removed (2 calls).
//!
//!   Idempotency: the external id *is* the idempotency key, derived from customer and SKU, so
//!   neither a retried request (same key) nor a repeated one (new key) can create a second
//!   record; the gateway's key is not sent. Adds never upsert an existing item, because an
//!   upsert writes every field it is sent and would move `Added_At__c` and `Channel__c`. The
//!   upsert body is fixed before the first attempt, so the shared retry policy may repeat
//!   it (and the delete) after a transient failure. A race between two devices adding the
//!   same SKU in the same instant leaves one record whose `Added_At__c` / `Channel__c` are
//!   the later writer's. A customer number held by neither a Contact nor an Account is
//!   `NotFound`; `DUPLICATE_VALUE` and a `300` (several records with one external id) are
//!   `Conflict`.
//!
//! E-mail lookups rely on SOQL comparing text case-insensitively, as Salesforce does.
//! Errors: Salesforce's `[{"message","errorCode"}]` bodies become typed errors; bad client
//! credentials (400 `invalid_client`) are `Unauthorized`; 403 `REQUEST_LIMIT_EXCEEDED` (the
//! org's 24-hour allocation is spent) is `RateLimited`; 429 and 5xx are retried by the shared
//! upstream policy. `Sforce-Limit-Info` usage is logged at debug level.
//!
//! # Simulator
//! [`simulator`] serves the world's CRM slice in this dialect: the token endpoint, Query with
//! server-side cursors behind `nextRecordsUrl`, Composite (25 subrequests, 5 queries), single
//! sObject reads, `Sforce-Limit-Info`, Salesforce's error arrays. Its credentials
//! (`samlet-demo` / `demo-secret`) are demo-only. Simplified or left out:
//! - SOQL is a subset: `SELECT fields FROM Contact|Account WHERE f IN (…) OR g = '…' [LIMIT n]`
//!   over the indexed fields (Id, customer number, e-mail, E.164 phone, loyalty number,
//!   account links), and for `Wishlist_Item__c` also `ORDER BY` (filters on Id, the key or
//!   the customer number); anything else is 400 `MALFORMED_QUERY`.
//! - Writes only to `Wishlist_Item__c` under its default names, held in memory for the
//!   simulator's life: create (`POST`), upsert, read and delete by `Samlet_Key__c`, read and
//!   delete by Id, with the org's validation (required fields, lookups, restricted picklist,
//!   unique key → `DUPLICATE_VALUE`). Contacts and Accounts are read-only (405). Unique
//!   values compare case-insensitively; no triggers, sharing or field-level security; no
//!   writes inside composite calls, no `@{reference}` chaining, no `queryAll`, describe or
//!   SOSL.
//! - `Sforce-Query-Options` inside a composite call is read from each subrequest's
//!   `httpHeaders`; cursors expire by count (newest 5,000 kept), not by idle time.
//! - The daily allocation is counted but only enforced when a test sets
//!   [`simulator::SimOptions::api_limit`]; the long-running-request limit is not simulated.
//! - The error codes of its composite validation (`LIMIT_EXCEEDED`) and of over-long URIs
//!   (414 `URI_TOO_LONG`) are unverified against a live org.

mod client;
mod config;
mod customers;
mod mapping;
pub mod simulator;
mod soql;
mod wishlists;

pub use config::{FieldNames, SalesforceConfig, WishlistNames, DEFAULT_API_VERSION};
pub use soql::MAX_QUERY_URL_LEN;

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The connector kind named in configuration.
pub const KIND: &str = "salesforce";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Customers, Capability::Wishlists]
}

/// Builds the connector (no network I/O here: tokens are fetched lazily on first call). A
/// configuration with problems is refused with [`ErrorKind::BadRequest`] listing them.
pub fn connect(
    name: ConnectorName,
    config: &SalesforceConfig,
    policy: UpstreamPolicy,
) -> Result<Connector, ConnectorError> {
    let problems = config.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(ConnectorError::new(
            ErrorKind::BadRequest,
            &name,
            format!("invalid configuration: {}", list.join("; ")),
        ));
    }
    let client = Arc::new(client::SalesforceClient::new(name.clone(), config, policy)?);
    let mut connector = Connector::new(name, KIND);
    connector.customers = Some(Arc::new(customers::SalesforceCustomers::new(
        client.clone(),
        config.fields.clone(),
    )));
    connector.wishlists = Some(Arc::new(wishlists::SalesforceWishlists::new(
        client,
        config.fields.clone(),
        config.wishlist.clone(),
    )));
    Ok(connector)
}
