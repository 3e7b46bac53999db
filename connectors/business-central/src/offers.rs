//! Offers: Business Central sales quotes, composed in a store and converted at home.
//!
//! - Create: the quote log (`salesQuoteTracking`, the extension's page) is searched for the
//!   idempotency reference first (`externalDocumentNumber eq '...'`; the log outlives the
//!   quote, so a converted quote is found too); only when nothing is there is the quote
//!   priced for its customer ([`crate::prices`]) and created with one `POST salesQuotes`,
//!   lines as a deep insert and the reference in `externalDocumentNumber`. The store, the
//!   associate and the channel go onto the log row with one `PATCH` (standard API pages
//!   cannot carry them). A create whose answer is lost is looked up again before the error
//!   is returned; a retried create that finds the quote re-applies a missing `PATCH`.
//! - Read: `salesQuotes` (lines and their locations expanded) and the log rows, concurrently;
//!   then the codes of the lines' variants (`itemVariants`, quote lines carry only the id)
//!   and, for converted quotes, which Business Central has deleted, the orders they became.
//! - Convert: the log row says whether the quote is open, expired or converted (and with
//!   which conversion reference). An open quote gets the reference written onto its log row
//!   (`PATCH` with the row's ETag, so two conversions cannot both claim it), then the bound
//!   action `POST salesQuotes({id})/Microsoft.NAV.makeOrder` turns it into an order. A retry
//!   with the same reference answers that order; any other conversion is a conflict naming
//!   it; an expired quote is a conflict too.

use crate::client::{
    entity, in_filters, Api, BusinessCentralClient, Query, WireCreated, WireItemVariant,
    WireQuoteTracking, WireSalesQuote, CODE20,
};
use crate::mapping::{self, external_reference, OrderMapping, NULL_GUID};
use samlet_connector::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Quote lines with the location each is for.
const QUOTE_LINES: &str = "salesQuoteLines($expand=location)";
/// `Text[50]` of the log's `createdBy`.
const CREATED_BY_LEN: usize = 50;

impl BusinessCentralClient {
    fn offer_error(&self, kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
        ConnectorError::new(kind, self.name(), message)
    }

    /// Log rows whose `field` is one of `values` (from the primary database).
    async fn quote_log(
        &self,
        field: &str,
        values: &[String],
    ) -> ConnectorResult<Vec<WireQuoteTracking>> {
        let calls = in_filters(field, values).into_iter().map(|filter| {
            self.collection::<WireQuoteTracking>(
                Api::Custom,
                entity::QUOTE_TRACKING,
                Query {
                    filter: Some(filter),
                    primary: true,
                    ..Query::default()
                },
            )
        });
        Ok(futures::future::try_join_all(calls)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// The log row of quote `number`.
    async fn quote_log_row(&self, number: &str) -> ConnectorResult<Option<WireQuoteTracking>> {
        Ok(self
            .quote_log("quoteNumber", &[number.to_owned()])
            .await?
            .into_iter()
            .find(|t| t.quote_number == number))
    }

    /// The log row of the quote created with `reference`.
    async fn quote_by_reference(
        &self,
        reference: &str,
    ) -> ConnectorResult<Option<WireQuoteTracking>> {
        Ok(self
            .quote_log("externalDocumentNumber", &[reference.to_owned()])
            .await?
            .into_iter()
            .find(|t| t.external_document_number.eq_ignore_ascii_case(reference)))
    }

    /// Writes the extension's fields onto a quote's log row; answers the updated row.
    async fn patch_quote_log(
        &self,
        id: &str,
        etag: &str,
        body: &Value,
    ) -> ConnectorResult<Result<WireQuoteTracking, Reply>> {
        let url = self.url(Api::Custom, &format!("{}({id})", entity::QUOTE_TRACKING));
        let reply = self
            .write(reqwest::Method::PATCH, &url, Some(body), Some(etag))
            .await?;
        if !reply.status.is_success() {
            return Ok(Err(reply));
        }
        Ok(Ok(reply.json(self.name(), "PATCH salesQuoteTracking")?))
    }

    /// Puts the store, associate and channel onto the log row where they are missing.
    async fn complete_quote_log(
        &self,
        cx: &RequestContext,
        t: WireQuoteTracking,
        draft: &OfferDraft,
    ) -> ConnectorResult<WireQuoteTracking> {
        // The channel is always written with the rest: a row with one is complete (a retry
        // never rewrites what the first attempt recorded).
        if !t.sales_channel.is_empty() {
            return Ok(t);
        }
        match self
            .patch_quote_log(&t.id, "*", &quote_log_fields(cx, draft))
            .await?
        {
            Ok(row) => Ok(row),
            Err(reply) => Err(self.write_error("PATCH salesQuoteTracking", &reply)),
        }
    }

    /// Offers by quote number, read as described in the module docs.
    async fn read_offers(
        &self,
        numbers: &[String],
        known_variants: &HashMap<String, String>,
    ) -> ConnectorResult<HashMap<String, Offer>> {
        let numbers: Vec<String> = numbers
            .iter()
            .filter(|n| !n.is_empty() && n.len() <= CODE20)
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if numbers.is_empty() {
            return Ok(HashMap::new());
        }
        let quote_calls = in_filters("number", &numbers).into_iter().map(|filter| {
            self.collection::<WireSalesQuote>(
                Api::Standard,
                entity::SALES_QUOTES,
                Query {
                    filter: Some(filter),
                    expand: Some(QUOTE_LINES),
                    primary: true,
                    ..Query::default()
                },
            )
        });
        let (quotes, log) = futures::try_join!(
            futures::future::try_join_all(quote_calls),
            self.quote_log("quoteNumber", &numbers)
        )?;
        let quotes: HashMap<String, WireSalesQuote> = quotes
            .into_iter()
            .flatten()
            .map(|q| (q.number.clone(), q))
            .collect();
        let log: HashMap<String, WireQuoteTracking> = log
            .into_iter()
            .map(|t| (t.quote_number.clone(), t))
            .collect();
        let variant_ids: Vec<String> = quotes
            .values()
            .flat_map(|q| q.sales_quote_lines.iter())
            .map(|l| l.item_variant_id.trim().to_owned())
            .filter(|id| !id.is_empty() && id != NULL_GUID && !known_variants.contains_key(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let converted: Vec<String> = log
            .values()
            .filter(|t| !quotes.contains_key(&t.quote_number) && !t.order_number.is_empty())
            .map(|t| t.order_number.clone())
            .collect();
        let variant_calls = in_filters("id", &variant_ids).into_iter().map(|filter| {
            self.collection::<WireItemVariant>(
                Api::Standard,
                entity::ITEM_VARIANTS,
                Query {
                    filter: Some(filter),
                    ..Query::default()
                },
            )
        });
        let orders = async {
            if converted.is_empty() {
                Ok(HashMap::new())
            } else {
                self.fresh_orders(&converted).await
            }
        };
        let (variants, orders) =
            futures::try_join!(futures::future::try_join_all(variant_calls), orders)?;
        let mut variants: HashMap<String, String> = variants
            .into_iter()
            .flatten()
            .map(|v| (v.id, v.code))
            .collect();
        variants.extend(known_variants.iter().map(|(k, v)| (k.clone(), v.clone())));
        let config = self.config();
        let m = OrderMapping {
            local_currency: config.local_currency,
            variant_separator: &config.variant_separator,
        };
        let invalid =
            |e: String| self.offer_error(ErrorKind::InvalidResponse, format!("salesQuotes: {e}"));
        let mut out = HashMap::new();
        for number in &numbers {
            let t = log.get(number);
            let offer = match (quotes.get(number), t) {
                (Some(q), t) => mapping::offer(q, t, &variants, &m).map_err(invalid)?,
                (None, Some(t)) if !t.order_number.is_empty() => {
                    match orders.get(&OrderNumber::new(t.order_number.as_str())) {
                        Some(order) => mapping::converted_offer(t, order).map_err(invalid)?,
                        None => continue,
                    }
                }
                _ => continue,
            };
            out.insert(number.clone(), offer);
        }
        Ok(out)
    }

    /// The offer behind a log row, read fresh (`variants`: variant codes already known).
    async fn offer_of(
        &self,
        t: &WireQuoteTracking,
        variants: &HashMap<String, String>,
    ) -> ConnectorResult<Offer> {
        self.read_offers(std::slice::from_ref(&t.quote_number), variants)
            .await?
            .remove(&t.quote_number)
            .ok_or_else(|| {
                self.offer_error(
                    ErrorKind::Unavailable,
                    format!(
                        "quote {} is in the quote log but cannot be read",
                        t.quote_number
                    ),
                )
            })
    }

    /// The order a converted quote became.
    async fn converted_order(&self, t: &WireQuoteTracking) -> ConnectorResult<Order> {
        self.fresh_orders(std::slice::from_ref(&t.order_number))
            .await?
            .remove(&OrderNumber::new(t.order_number.as_str()))
            .ok_or_else(|| {
                self.offer_error(
                    ErrorKind::Unavailable,
                    format!(
                        "quote {} became order {}, which cannot be read",
                        t.quote_number, t.order_number
                    ),
                )
            })
    }

    /// What a conversion with `reference` answers for a log row that is no longer open:
    /// the order if the conversion was this one, else a conflict.
    async fn settled(
        &self,
        t: &WireQuoteTracking,
        reference: &str,
    ) -> ConnectorResult<Option<Order>> {
        match mapping::offer_status(Some(t)) {
            OfferStatus::Converted(order) => {
                if t.conversion_key.eq_ignore_ascii_case(reference) {
                    self.converted_order(t).await.map(Some)
                } else {
                    Err(self.offer_error(
                        ErrorKind::Conflict,
                        format!(
                            "offer {} was already converted to order {order}; it is converted once",
                            t.quote_number
                        ),
                    ))
                }
            }
            OfferStatus::Expired => Err(self.offer_error(
                ErrorKind::Conflict,
                format!(
                    "offer {} expired after {} and can no longer be converted",
                    t.quote_number, t.valid_until_date
                ),
            )),
            OfferStatus::Open => Ok(None),
        }
    }
}

#[async_trait]
impl OfferStore for BusinessCentralClient {
    async fn create_offer(
        &self,
        cx: &RequestContext,
        draft: &OfferDraft,
        idempotency_key: &str,
    ) -> ConnectorResult<Offer> {
        let reference = external_reference(idempotency_key);
        if let Some(t) = self.quote_by_reference(&reference).await? {
            let t = self.complete_quote_log(cx, t, draft).await?;
            return self.offer_of(&t, &HashMap::new()).await;
        }
        if draft
            .created_by
            .as_deref()
            .is_some_and(|c| c.chars().count() > CREATED_BY_LEN)
        {
            return Err(self.offer_error(
                ErrorKind::BadRequest,
                format!("created_by is longer than the {CREATED_BY_LEN} characters Business Central keeps"),
            ));
        }
        let pricing = self
            .price_draft(cx, &draft.customer, &draft.lines, draft.store.is_some())
            .await?;
        let location_id = match &draft.store {
            Some(store) => Some(
                pricing
                    .locations
                    .get(&store.as_str().to_ascii_uppercase())
                    .map(|l| l.id.clone())
                    .ok_or_else(|| {
                        self.offer_error(
                            ErrorKind::BadRequest,
                            format!("store {store} is not a Business Central location"),
                        )
                    })?,
            ),
            None => None,
        };
        let lines: Vec<Value> = pricing
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                let mut line = json!({
                    "sequence": (n as u32 + 1) * 10_000,
                    "lineType": "Item",
                    "lineObjectNumber": l.item,
                    "itemVariantId": l.variant_id,
                    "quantity": decimal_number(l.quantity),
                    "unitPrice": decimal_number(l.unit_price),
                });
                if let Some(id) = &location_id {
                    line["locationId"] = Value::String(id.clone());
                }
                line
            })
            .collect();
        let config = self.config();
        let body = json!({
            "customerNumber": draft.customer.as_str(),
            "externalDocumentNumber": reference,
            "validUntilDate": draft.valid_until.date_naive().to_string(),
            "currencyCode": mapping::currency_code_for(cx.currency, config.local_currency),
            "salesQuoteLines": lines,
        });
        let url = self.url(Api::Standard, entity::SALES_QUOTES);
        let failure = match self
            .write(reqwest::Method::POST, &url, Some(&body), None)
            .await
        {
            Ok(reply) if reply.status.is_success() => {
                let created: WireCreated = reply.json(self.name(), "POST salesQuotes")?;
                // The extension logged the quote under its SystemId as it was inserted.
                let t = match self
                    .patch_quote_log(&created.id, "*", &quote_log_fields(cx, draft))
                    .await?
                {
                    Ok(t) => t,
                    Err(reply) => return Err(self.write_error("PATCH salesQuoteTracking", &reply)),
                };
                return self.offer_of(&t, &pricing.variants).await;
            }
            Ok(reply) if !reply.status.is_server_error() && reply.status.as_u16() != 408 => {
                return Err(self.write_error("POST salesQuotes", &reply));
            }
            // The answer was lost or the gateway gave up: the quote may exist all the same.
            Ok(reply) => self.write_error("POST salesQuotes", &reply),
            Err(e) => e,
        };
        let Some(t) = self.quote_by_reference(&reference).await? else {
            return Err(failure);
        };
        let t = self.complete_quote_log(cx, t, draft).await?;
        self.offer_of(&t, &pricing.variants).await
    }

    async fn offers(
        &self,
        _cx: &RequestContext,
        numbers: &[String],
    ) -> ConnectorResult<HashMap<String, Offer>> {
        self.read_offers(numbers, &HashMap::new()).await
    }

    async fn convert_offer(
        &self,
        _cx: &RequestContext,
        number: &str,
        idempotency_key: &str,
    ) -> ConnectorResult<Order> {
        let reference = external_reference(idempotency_key);
        let missing = || {
            self.offer_error(
                ErrorKind::NotFound,
                format!("offer {number} does not exist in Business Central"),
            )
        };
        if number.is_empty() || number.len() > CODE20 {
            return Err(missing());
        }
        let mut t = self.quote_log_row(number).await?.ok_or_else(missing)?;
        // At most one round of "someone else changed the row" before giving up.
        for _ in 0..2 {
            if let Some(order) = self.settled(&t, &reference).await? {
                return Ok(order);
            }
            if !t.conversion_key.eq_ignore_ascii_case(&reference) {
                let body = json!({ "conversionKey": reference });
                let failure = match self.patch_quote_log(&t.id, &t.etag, &body).await {
                    Ok(Ok(row)) => {
                        t = row;
                        None
                    }
                    // Someone else changed the row: look again.
                    Ok(Err(reply)) if matches!(reply.status.as_u16(), 409 | 412) => {
                        t = self.quote_log_row(number).await?.ok_or_else(missing)?;
                        continue;
                    }
                    Ok(Err(reply))
                        if !reply.status.is_server_error() && reply.status.as_u16() != 408 =>
                    {
                        return Err(self.write_error("PATCH salesQuoteTracking", &reply));
                    }
                    Ok(Err(reply)) => Some(self.write_error("PATCH salesQuoteTracking", &reply)),
                    Err(e) => Some(e),
                };
                if let Some(failure) = failure {
                    // No answer: the row says whether the reference was written.
                    t = self.quote_log_row(number).await?.ok_or_else(missing)?;
                    if !t.conversion_key.eq_ignore_ascii_case(&reference) {
                        return Err(failure);
                    }
                }
            }
            let url = self.url(
                Api::Standard,
                &format!("{}({})/{}", entity::SALES_QUOTES, t.id, entity::MAKE_ORDER),
            );
            let outcome = self.write(reqwest::Method::POST, &url, None, None).await;
            // Whatever the answer, the log row says what happened.
            let after = self.quote_log_row(number).await?.ok_or_else(missing)?;
            if let Some(order) = self.settled(&after, &reference).await? {
                return Ok(order);
            }
            return Err(match outcome {
                Ok(reply) if reply.status.is_success() => self.offer_error(
                    ErrorKind::InvalidResponse,
                    format!("makeOrder succeeded, but quote {number} is still open"),
                ),
                // Business Central refused the conversion (its own validation).
                Ok(reply)
                    if crate::client::odata_code(&reply)
                        .is_some_and(|c| c.starts_with("Application_")) =>
                {
                    ConnectorError::new(
                        ErrorKind::Conflict,
                        self.name(),
                        format!(
                            "offer {number} cannot be converted: {}",
                            crate::client::odata_message(&reply)
                        ),
                    )
                }
                Ok(reply) => self.write_error("POST salesQuotes/Microsoft.NAV.makeOrder", &reply),
                Err(e) => e,
            });
        }
        Err(self.offer_error(
            ErrorKind::Conflict,
            format!("offer {number} is being converted by another request"),
        ))
    }
}

/// What the quote log records besides the quote: store, associate and channel.
fn quote_log_fields(cx: &RequestContext, draft: &OfferDraft) -> Value {
    json!({
        "storeCode": draft.store.as_ref().map(|s| s.as_str()).unwrap_or(""),
        "createdBy": draft.created_by.as_deref().unwrap_or(""),
        "salesChannel": cx.channel.as_str(),
    })
}

/// A decimal as a JSON number with its exact digits (Business Central reads `Edm.Decimal`).
pub(crate) fn decimal_number(d: Decimal) -> Value {
    serde_json::from_str::<serde_json::Number>(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
