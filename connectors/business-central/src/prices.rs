//! Prices: the extension's `itemPrices` page serves Business Central price list lines resolved
//! per item, variant, sales channel (`online`/`store`), currency (blank for LCY) and customer
//! price group (blank for everyone); the standard v2.0 item has one `unitPrice` only. One
//! request covers a batch: `itemNumber in (...)` plus the context's channel, currency and
//! group, chunked at [`crate::client::MAX_IN_LIST_CHARS`]. A group-specific line wins over the
//! general one.

use crate::client::{
    entity, in_filters, quote, Api, BusinessCentralClient, Query, WireItemPrice, CODE20,
};
use crate::mapping::{self, currency_code_for, item_of, sku_of};
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
