//! Prices: `GET /entries/{entryCode}/prices` returns every price of one variation (all
//! markets, currencies, price types and validity periods); the connector resolves the one the
//! context pays (see [`crate::mapping::select_price`]). The Service API cannot read the prices
//! of several entries in one call, so a batch of N SKUs costs N requests, run
//! `max_concurrent_requests` (default 16) at a time. A currency without a configured market for
//! the context's price channel has no prices, and costs no request.

use crate::client::{OptimizelyClient, WirePrice};
use crate::mapping::{select_price, PriceContext};
use samlet_connector::prelude::*;
use std::collections::BTreeSet;

#[async_trait]
impl PriceSource for OptimizelyClient {
    async fn prices(
        &self,
        cx: &RequestContext,
        skus: &[Sku],
    ) -> ConnectorResult<HashMap<Sku, Price>> {
        let config = self.config();
        let Some(market) = config
            .markets
            .market_for(cx.channel.price_channel(), cx.currency)
        else {
            tracing::debug!(connector = %self.name(), currency = %cx.currency, "no market configured for this price channel and currency");
            return Ok(HashMap::new());
        };
        let codes: Vec<Sku> = skus
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found: Vec<(Sku, Vec<WirePrice>)> = self
            .each(codes, "entries/{entryCode}/prices", |s| {
                self.url(&["entries", s.as_str(), "prices"], &[])
            })
            .await?;
        let pcx = PriceContext {
            market,
            currency: cx.currency,
            group: cx.customer_group.as_ref(),
            now: chrono::Utc::now(),
            prices_include_tax: config.prices_include_tax,
            net_price_groups: &config.net_price_groups,
        };
        let mut out = HashMap::with_capacity(found.len());
        for (sku, prices) in found {
            match select_price(&prices, &pcx) {
                Ok(Some(p)) => {
                    out.insert(sku, p);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(self.error(
                        ErrorKind::InvalidResponse,
                        format!("entries/{sku}/prices: {e}"),
                    ))
                }
            }
        }
        Ok(out)
    }
}
