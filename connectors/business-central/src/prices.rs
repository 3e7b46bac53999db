//! Prices: the extension's `itemPrices` page serves Business Central price list lines resolved
//! per item, variant, sales channel (`online`/`store`), currency (blank for LCY) and customer
//! price group (blank for everyone); the standard v2.0 item has one `unitPrice` only. One
//! request covers a batch: `itemNumber in (...)` plus the context's channel, currency and
//! group, chunked at [`crate::client::MAX_IN_LIST_CHARS`]. A group-specific line wins over the
//! general one.

use crate::client::{
    entity, in_filters, quote, Api, BusinessCentralClient, Query, WireCustomer, WireItemPrice,
    WireLocation, CODE20,
};
use crate::mapping::{self, currency_code_for, item_of, sku_of, NULL_GUID};
use futures::future::try_join_all;
use samlet_connector::prelude::*;
use std::collections::{BTreeSet, HashSet};

/// Length of the Customer Price Group code.
const PRICE_GROUP_LEN: usize = 10;

#[async_trait]
impl PriceSource for BusinessCentralClient {
    async fn prices(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Price>> {
        let config = self.config();
        let sep = config.variant_separator.as_str();
        let wanted: HashSet<&Sku> = skus.iter().collect();
        let items: Vec<String> = skus
            .iter()
            .map(|s| item_of(s, sep))
            .filter(|i| !i.is_empty() && i.len() <= CODE20)
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let currency = quote(&currency_code_for(cx.currency, config.local_currency));
        let channel = quote(cx.channel.price_channel().as_str());
        let groups = match cx
            .customer_group
            .as_ref()
            .filter(|g| g.as_str().len() <= PRICE_GROUP_LEN)
        {
            Some(g) => format!("customerPriceGroup in ('',{})", quote(g.as_str())),
            None => "customerPriceGroup eq ''".to_owned(),
        };
        let requests = in_filters("itemNumber", &items).into_iter().map(|items| {
            let filter = format!(
                "{items} and priceChannel eq {channel} and currencyCode eq {currency} and {groups}"
            );
            self.collection::<WireItemPrice>(
                Api::Custom,
                entity::ITEM_PRICES,
                Query {
                    filter: Some(filter),
                    ..Query::default()
                },
            )
        });
        let rows = try_join_all(requests).await?;
        let mut best: HashMap<Sku, WireItemPrice> = HashMap::new();
        for row in rows.into_iter().flatten() {
            let sku = sku_of(row.item_number.trim(), row.variant_code.trim(), sep);
            if !wanted.contains(&sku) {
                continue;
            }
            let specific = !row.customer_price_group.trim().is_empty();
            match best.get(&sku) {
                Some(held) if !specific || !held.customer_price_group.trim().is_empty() => {}
                _ => {
                    best.insert(sku, row);
                }
            }
        }
        best.into_iter()
            .map(|(sku, row)| {
                mapping::price(&row, config.local_currency)
                    .map(|p| (sku.clone(), p))
                    .map_err(|e| {
                        ConnectorError::new(
                            ErrorKind::InvalidResponse,
                            self.name(),
                            format!("itemPrices {sku}: {e}"),
                        )
                    })
            })
            .collect()
    }
}

/// One line of a draft, priced for its customer.
#[derive(Debug, Clone)]
pub(crate) struct PricedLine {
    /// Its item number.
    pub item: String,
    /// Its variant's SystemId (the null GUID for the item itself).
    pub variant_id: String,
    /// Units.
    pub quantity: Decimal,
    /// The unit price the customer pays in the request's channel and currency.
    pub unit_price: Decimal,
}

/// A draft priced for its customer, with what the write needs besides.
#[derive(Debug, Clone)]
pub(crate) struct DraftPricing {
    /// The customer's ERP record.
    pub customer: WireCustomer,
    /// The lines, in the draft's order.
    pub lines: Vec<PricedLine>,
    /// Variant SystemId -> variant code, for the lines' SKUs.
    pub variants: HashMap<String, String>,
    /// Locations by code (empty unless asked for).
    pub locations: HashMap<String, WireLocation>,
}

impl BusinessCentralClient {
    /// Prices a draft's lines exactly as `customer` pays them in the request's channel and
    /// currency: the customer's own price group comes from their ERP record (not from the
    /// request), and a price line for that group wins over the general one. One round trip:
    /// the customer, the price lines of every group, and (if `with_locations`) the locations
    /// are read concurrently.
    pub(crate) async fn price_draft(
        &self,
        cx: &RequestContext,
        customer: &CustomerNumber,
        lines: &[LineRequest],
        with_locations: bool,
    ) -> ConnectorResult<DraftPricing> {
        let config = self.config();
        let sep = config.variant_separator.as_str();
        let bad = |kind: ErrorKind, m: String| ConnectorError::new(kind, self.name(), m);
        if lines.is_empty() {
            return Err(bad(
                ErrorKind::BadRequest,
                "a document needs at least one line".into(),
            ));
        }
        if let Some(l) = lines.iter().find(|l| l.quantity <= Decimal::ZERO) {
            return Err(bad(
                ErrorKind::BadRequest,
                format!(
                    "{}: the quantity must be positive, not {}",
                    l.sku, l.quantity
                ),
            ));
        }
        if customer.as_str().is_empty() || customer.as_str().len() > CODE20 {
            return Err(bad(
                ErrorKind::NotFound,
                format!("customer `{customer}` cannot be a Business Central customer number"),
            ));
        }
        let items: Vec<String> = lines
            .iter()
            .map(|l| item_of(&l.sku, sep).to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if let Some(i) = items.iter().find(|i| i.is_empty() || i.len() > CODE20) {
            return Err(bad(
                ErrorKind::NotFound,
                format!("`{i}` is not an item number"),
            ));
        }
        let currency = quote(&currency_code_for(cx.currency, config.local_currency));
        let channel = quote(cx.channel.price_channel().as_str());
        let price_calls = in_filters("itemNumber", &items).into_iter().map(|items| {
            self.collection::<WireItemPrice>(
                Api::Custom,
                entity::ITEM_PRICES,
                Query {
                    filter: Some(format!(
                        "{items} and priceChannel eq {channel} and currencyCode eq {currency}"
                    )),
                    ..Query::default()
                },
            )
        });
        let customers = self.collection::<WireCustomer>(
            Api::Custom,
            entity::CUSTOMERS,
            Query {
                filter: Some(format!("number eq {}", quote(customer.as_str()))),
                ..Query::default()
            },
        );
        let locations = async {
            if with_locations {
                self.collection::<WireLocation>(Api::Custom, entity::LOCATIONS, Query::default())
                    .await
            } else {
                Ok(Vec::new())
            }
        };
        let (rows, customers, locations) =
            futures::try_join!(try_join_all(price_calls), customers, locations)?;
        let Some(record) = customers.into_iter().next() else {
            return Err(bad(
                ErrorKind::NotFound,
                format!("customer {customer} is not a Business Central customer"),
            ));
        };
        let group = record.customer_price_group.trim().to_owned();
        let customer_record = record;
        let mut best: HashMap<Sku, WireItemPrice> = HashMap::new();
        for row in rows.into_iter().flatten() {
            let row_group = row.customer_price_group.trim();
            if !row_group.is_empty() && row_group != group {
                continue;
            }
            let sku = sku_of(row.item_number.trim(), row.variant_code.trim(), sep);
            match best.get(&sku) {
                Some(held)
                    if row_group.is_empty() || !held.customer_price_group.trim().is_empty() => {}
                _ => {
                    best.insert(sku, row);
                }
            }
        }
        let mut variants = HashMap::new();
        let mut priced = Vec::with_capacity(lines.len());
        for l in lines {
            let row = best.get(&l.sku).ok_or_else(|| {
                bad(
                    ErrorKind::NotFound,
                    format!(
                        "{} has no price for customer {customer} in the {} channel in {}",
                        l.sku,
                        cx.channel.price_channel().as_str(),
                        cx.currency
                    ),
                )
            })?;
            let variant_id = match row.item_variant_id.trim() {
                "" => NULL_GUID.to_owned(),
                id => id.to_owned(),
            };
            if !row.variant_code.trim().is_empty() {
                variants.insert(variant_id.clone(), row.variant_code.trim().to_owned());
            }
            priced.push(PricedLine {
                item: row.item_number.trim().to_owned(),
                variant_id,
                quantity: l.quantity,
                unit_price: row.unit_price,
            });
        }
        Ok(DraftPricing {
            customer: customer_record,
            lines: priced,
            variants,
            locations: locations
                .into_iter()
                .map(|l| (l.code.trim().to_ascii_uppercase(), l))
                .collect(),
        })
    }
}
