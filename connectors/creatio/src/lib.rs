//! `samlet-creatio`: the Creatio CRM (OData 4 API) as a Samlet customer source.
//!
//! # What it serves, and why
//! Only [`Capability::Customers`]: the CRM is the system of record for who a customer is
//! (names, e-mail, phone, address, the shared customer number and the loyalty member number).
//! It serves the world's CRM slice, the same customers the Salesforce connector serves, so a
//! retailer that swaps Salesforce for Creatio gets the same unified customer. Creatio also has
//! products and orders, but in this stack the PIM and ERP own those.
//!
//! # The instance model it expects
//! - A **person** is a `Contact` that carries the shared customer number.
//! - A **company** is an `Account` that carries the customer number, whose `PrimaryContact`
//!   lookup names the contact person (whose `GivenName`, `Surname` and `Email` the record
//!   shows). That contact person (`Contact.AccountId` set, no number of its own) is answered
//!   through its Account.
//! - Custom columns on both objects (Creatio prefixes custom columns with `Usr`): the customer
//!   number (`UsrCustomerNumber`), the loyalty number (`UsrLoyaltyNumber`) and the phone in
//!   E.164 (`UsrPhoneE164`, kept filled by a business process, because `MobilePhone`/`Phone`
//!   hold what people typed, e.g. `12 34 56 78`, which a filter for `+4512345678` cannot match).
//!   The names are configurable (`[columns]`).
//! - Addresses: the primary row of the `ContactAddress` / `AccountAddress` detail, expanded
//!   with its `City` name and its `Country` lookup's ISO code (`Code`, configurable); phones are
//!   normalised to E.164 with that country.
//!
//! Mapped: number, kind, e-mail (lower-cased), phone (E.164; `MobilePhone`, else `Phone`, for
//! persons, `Phone` for companies), given and family name, company name (`Account.Name`),
//! loyalty number, address and `ModifiedOn`. Not mapped (the CRM does not hold them here):
//! loyalty tier, customer group, consents.
//!
//! # Configuration (`[connectors.<name>]`, `kind = "creatio"`)
//! | key | default | meaning |
//! |---|---|---|
//! | `base_url` | (required) | the Creatio application URL |
//! | `identity_url` | (required) | the Identity Service URL; tokens come from `{identity_url}/connect/token` |
//! | `client_id` | (required) | client id of an OAuth 2.0 integrated application (client-credentials grant) |
//! | `client_secret` | (required) | its secret (write `"${ENV_VAR}"`) |
//! | `odata_path` | `"/0/odata"` | OData 4 service path; `"/odata"` on .NET Core / .NET 8 builds |
//! | `page_size` | `1000` | rows per request (`$top`), 1–20,000 |
//! | `filter_terms` | `16` | key comparisons per `$filter`, 1–500 |
//! | `email_match` | `"collation"` | `"collation"` (`Email eq '…'`) or `"tolower"` (`tolower(Email) eq '…'`) |
//! | `columns.customer_number` | `"UsrCustomerNumber"` | customer number column on Contact and Account |
//! | `columns.loyalty_number` | `"UsrLoyaltyNumber"` | loyalty number column on Contact and Account |
//! | `columns.phone_e164` | `"UsrPhoneE164"` | E.164 phone column on Contact and Account |
//! | `columns.country_code` | `"Code"` | ISO 3166-1 alpha-2 column of the `Country` lookup |
//!
//! # Endpoints used
//! - `POST {identity_url}/connect/token`, form `grant_type=client_credentials&client_id&
//!   client_secret`: gives `{access_token, expires_in, token_type}`. The token is cached until a
//!   minute before it expires (an hour by default); a 401 on an API call drops it, fetches a
//!   new one and repeats the call once. Bad credentials (400 `invalid_client`) are
//!   `UPSTREAM_AUTH`.
//! - `POST {base_url}{odata_path}/$batch` (`Content-Type: application/json`) with GET
//!   sub-requests `Contact?$filter=…&$select=…&$expand=…&$orderby=Id&$top=N[&$skip=M]` and the
//!   same for `Account`. The filter is an `or` chain (`UsrCustomerNumber eq 'C0000001' or
//!   Email eq '…' or UsrPhoneE164 eq '…' or UsrLoyaltyNumber eq '…'`; on Account the e-mail is
//!   `PrimaryContact/Email`; an external id of this connector is `Id eq <guid>`, an unquoted
//!   GUID literal, counted as one comparison of the chain). The `in` operator is not used:
//!   Creatio does not document it.
//!
//! # Batching figures
//! Each `$filter` holds at most `filter_terms` comparisons (16: sixteen comparisons of at most
//! 5 nodes plus 15 `or`s stay under ASP.NET OData's default limit of 100 filter nodes, which
//! Creatio's OData 4 service runs on), and every chunk is read from both Contact and Account.
//! All those reads go into one `$batch` call, up to Creatio's 100 requests per batch. So a
//! batch of **48 e-mails costs 1 API call** (3 chunks × 2 entity sets = 6 sub-requests), and
//! one call answers up to 800 keys; larger batches take one call per 800 keys, four in flight.
//! A read whose page comes back full (`page_size` rows) is continued with `$skip` in a further
//! `$batch` round (Creatio pages only on the client's request; a next link, if a server sent
//! one, is honoured the same way).
//!
//! # E-mail matching
//! The connector always sends lower-cased e-mails; the CRM stores them as typed. With the
//! default `email_match = "collation"` it relies on the database comparing text
//! case-insensitively, which Creatio's Microsoft SQL Server databases do (and which keeps the
//! column's index usable). PostgreSQL compares case-sensitively, so instances on PostgreSQL set
//! `email_match = "tolower"` (the standard OData `tolower` function; it makes the database scan
//! instead of seek). The simulator models both databases ([`simulator::Database`]).
//!
//! Errors: OData's `{"error":{"code","message"}}` bodies (top-level or per sub-request) become
//! typed errors with the code and message; 429 and 5xx are retried by the shared upstream
//! policy honouring `Retry-After`; a 404 means a wrong `odata_path` or entity set and is
//! `UPSTREAM_BAD_REQUEST`, as is a filter naming a column the instance lacks.
//!
//! # Simulator
//! [`simulator`] serves the world's CRM slice in this dialect: the Identity Service token
//! endpoint, OData 4 collections with `$filter`/`$select`/`$expand`/`$orderby`/`$top`/`$skip`/
//! `$count`, single entities, JSON `$batch` (100 requests, stop on first error), the 100-node
//! filter limit, Creatio's empty values (`""`, the zero GUID) and OData error bodies. Its
//! credentials (`samlet-demo` / `demo-secret`) are demo-only. Simplified or left out: writes,
//! multipart `$batch`, `$metadata`, the `in` and lambda operators, options other than
//! `$select`/`$expand` inside `$expand`, date-typed comparison (dates compare as text), forms
//! authentication (`AuthService.svc/Login` with the `BPMCSRF` cookie, not used by the
//! connector either), and rate limits (Creatio publishes none; only injected 429s).
//! Unverified against a live instance: the `Country` lookup's `Code` column holding ISO
//! alpha-2 codes, the 20,000-row page cap, `tolower` in Creatio's filter translation, and the
//! wording of Creatio's error messages.

mod client;
mod config;
mod customers;
mod mapping;
mod query;
pub mod simulator;

pub use client::MAX_BATCH_REQUESTS;
pub use config::{
    ColumnNames, CreatioConfig, EmailMatch, DEFAULT_FILTER_TERMS, DEFAULT_ODATA_PATH,
    DEFAULT_PAGE_SIZE, MAX_FILTER_TERMS, MAX_PAGE_SIZE, NET_CORE_ODATA_PATH,
};

use samlet_connector::prelude::*;
use std::sync::Arc;

/// The connector kind named in configuration.
pub const KIND: &str = "creatio";

/// Capabilities as data, for `samlet check` before connecting.
pub fn capabilities() -> &'static [Capability] {
    &[Capability::Customers]
}

/// Builds the connector (no network I/O here: tokens are fetched lazily on first call). A
/// configuration with problems is refused with [`ErrorKind::BadRequest`] listing them.
pub fn connect(
    name: ConnectorName,
    config: &CreatioConfig,
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
    let client = Arc::new(client::CreatioClient::new(name.clone(), config, policy)?);
    let mut connector = Connector::new(name, KIND);
    connector.customers = Some(Arc::new(customers::CreatioCustomers::new(
        client,
        config.clone(),
    )));
    Ok(connector)
}
