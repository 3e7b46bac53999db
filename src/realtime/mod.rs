//! Real-time: the feeds behind GraphQL subscriptions (`orderStatus`, `stock`), the vendor
//! webhooks that drive them, and the transports (WebSocket, server-sent events).
//!
//! One feed per key: however many clients watch order `SO0050001`, one watcher task reads it
//! from the vendor and every subscriber receives its value (a `tokio::sync::watch` channel).
//! A watcher reads when it starts, whenever a webhook says its key changed
//! ([`Hub::apply`]), and on a timer: every `[realtime] poll_interval` when the capability's
//! vendor sends no webhooks, every `webhook_poll_interval` (a safety net for a lost
//! notification) when it does. The watcher ends when its last subscriber leaves.
//!
//! A change a webhook reports also invalidates the caches (stock entries and the whole-answer
//! cache), and so does a stock change a poll finds: the next query sees the fresh value.

pub mod transport;
pub mod webhooks;

use crate::gateway::Gateway;
use futures::future::BoxFuture;
use samlet_connector::change::Change;
use samlet_connector::context::{Caller, RequestContext};
use samlet_connector::ids::{OrderNumber, Sku};
use samlet_connector::model::{Order, StockLevel};
use samlet_connector::ConnectorError;
use serde::Deserialize;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// `[realtime]`: how subscriptions are fed.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RealtimeConfig {
    /// How often a watched order or SKU is read from a vendor that sends no webhooks, e.g.
    /// `"10s"` (at least `"100ms"`).
    #[serde(with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub poll_interval: Duration,
    /// How often it is read anyway from a vendor that does send webhooks (in case a
    /// notification was lost), e.g. `"5m"` (at least `"1s"`).
    #[serde(with = "crate::config::duration")]
    #[schemars(schema_with = "crate::config::duration_schema")]
    pub webhook_poll_interval: Duration,
    /// The most orders, and the most SKUs, watched at once (distinct keys, not subscribers);
    /// a subscription beyond it is refused.
    pub max_feeds: usize,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            poll_interval: Duration::from_secs(10),
            webhook_poll_interval: Duration::from_secs(300),
            max_feeds: 10_000,
        }
    }
}

impl RealtimeConfig {
    /// Problems with the values, as `(key path, message)`.
    pub fn problems(&self) -> Vec<(Vec<String>, String)> {
        let at = |k: &str| vec!["realtime".to_owned(), k.to_owned()];
        let mut out = Vec::new();
        if self.poll_interval < Duration::from_millis(100) {
            out.push((
                at("poll_interval"),
                "write at least \"100ms\" (vendors would be polled too often)".to_owned(),
            ));
        }
        if self.webhook_poll_interval < Duration::from_secs(1) {
            out.push((
                at("webhook_poll_interval"),
                "write at least \"1s\"".to_owned(),
            ));
        }
        if self.max_feeds == 0 {
            out.push((
                at("max_feeds"),
                "write at least 1 (distinct orders and SKUs watched at once)".to_owned(),
            ));
        }
        out
    }
}

/// What a feed's subscribers see: nothing yet, the value, or why the first read failed.
pub type FeedValue<V> = Option<Result<V, Arc<ConnectorError>>>;

type Loader<K, V> = Arc<dyn Fn(K) -> BoxFuture<'static, Result<V, ConnectorError>> + Send + Sync>;
type OnChange<K> = Arc<dyn Fn(&K) + Send + Sync>;

struct FeedHandle<V> {
    tx: watch::Sender<FeedValue<V>>,
    poke: Notify,
}

/// The feeds of one kind of key (orders by number, stock by SKU).
pub struct Feeds<K, V> {
    map: Mutex<HashMap<K, Arc<FeedHandle<V>>>>,
    load: Loader<K, V>,
    on_change: OnChange<K>,
    poll: Duration,
    max: usize,
    started: AtomicU64,
}

/// Why a subscription could not start.
#[derive(Debug)]
pub enum WatchError {
    /// `[realtime] max_feeds` keys are watched already.
    TooMany(usize),
    /// The first read failed.
    Upstream(Arc<ConnectorError>),
}

impl<K, V> Feeds<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + std::fmt::Display + 'static,
    V: PartialEq + Clone + Send + Sync + 'static,
{
    fn new(load: Loader<K, V>, on_change: OnChange<K>, poll: Duration, max: usize) -> Arc<Self> {
        Arc::new(Feeds {
            map: Mutex::new(HashMap::new()),
            load,
            on_change,
            poll,
            max,
            started: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<FeedHandle<V>>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keys watched now.
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    /// Watcher tasks started since the gateway started (one per key and watching period).
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Subscribes to `key`, starting its watcher if nobody watches it yet, and waits for its
    /// first value.
    pub async fn watch(
        self: &Arc<Self>,
        key: K,
    ) -> Result<watch::Receiver<FeedValue<V>>, WatchError> {
        let mut rx = {
            let mut map = self.lock();
            match map.get(&key) {
                Some(h) => h.tx.subscribe(),
                None => {
                    if map.len() >= self.max {
                        return Err(WatchError::TooMany(self.max));
                    }
                    let (tx, rx) = watch::channel(None);
                    let handle = Arc::new(FeedHandle {
                        tx,
                        poke: Notify::new(),
                    });
                    map.insert(key.clone(), handle.clone());
                    self.started.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(self.clone().run(key, handle));
                    rx
                }
            }
        };
        loop {
            match &*rx.borrow_and_update() {
                Some(Ok(_)) => break,
                Some(Err(e)) => return Err(WatchError::Upstream(e.clone())),
                None => {}
            }
            if rx.changed().await.is_err() {
                // The watcher ended before a first value (cannot happen while we hold `rx`).
                break;
            }
        }
        Ok(rx)
    }

    /// Wakes the watcher of `key`, if anyone watches it.
    pub fn poke(&self, key: &K) {
        if let Some(h) = self.lock().get(key) {
            h.poke.notify_one();
        }
    }

    /// Wakes every watcher.
    pub fn poke_all(&self) {
        for h in self.lock().values() {
            h.poke.notify_one();
        }
    }

    /// Removes `key`'s feed if it is still `handle` and nobody watches it; true if removed.
    fn leave_if_unwatched(&self, key: &K, handle: &Arc<FeedHandle<V>>) -> bool {
        let mut map = self.lock();
        if handle.tx.receiver_count() > 0 {
            return false;
        }
        if map.get(key).is_some_and(|h| Arc::ptr_eq(h, handle)) {
            map.remove(key);
        }
        true
    }

    async fn run(self: Arc<Self>, key: K, handle: Arc<FeedHandle<V>>) {
        let mut have_value = false;
        loop {
            match (self.load)(key.clone()).await {
                Ok(v) => {
                    let changed = handle.tx.send_if_modified(|cur| {
                        if matches!(cur, Some(Ok(old)) if *old == v) {
                            false
                        } else {
                            *cur = Some(Ok(v));
                            true
                        }
                    });
                    if changed && have_value {
                        (self.on_change)(&key);
                    }
                    have_value = true;
                }
                Err(e) if !have_value => {
                    // Nothing to serve: the subscribers get the error and the feed ends (the
                    // next subscription tries afresh).
                    tracing::warn!(%key, error = %e, "real-time feed could not read its first value");
                    {
                        let mut map = self.lock();
                        if map.get(&key).is_some_and(|h| Arc::ptr_eq(h, &handle)) {
                            map.remove(&key);
                        }
                    }
                    handle.tx.send_replace(Some(Err(Arc::new(e))));
                    return;
                }
                Err(e) => {
                    tracing::warn!(%key, error = %e, "real-time feed read failed; keeping the last value");
                }
            }
            loop {
                tokio::select! {
                    _ = handle.poke.notified() => break,
                    _ = tokio::time::sleep(self.poll) => break,
                    _ = handle.tx.closed() => {
                        if self.leave_if_unwatched(&key, &handle) {
                            return;
                        }
                        // Someone subscribed meanwhile: keep watching.
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
    }
}

/// The feeds of one gateway.
pub struct Hub {
    /// Order feeds, by number (`None`: the vendor does not know the order).
    pub orders: Arc<Feeds<OrderNumber, Option<Arc<Order>>>>,
    /// Stock feeds, by SKU.
    pub stock: Arc<Feeds<Sku, Arc<Vec<StockLevel>>>>,
    gateway: Arc<Gateway>,
    /// Set when the server shuts down: every subscription ends.
    closing: watch::Sender<bool>,
}

/// The context the watchers read in: the configured defaults, as a service.
fn watcher_context(gateway: &Gateway) -> RequestContext {
    RequestContext {
        channel: gateway.defaults.channel,
        store: None,
        locale: gateway.defaults.locale.clone(),
        currency: gateway.defaults.currency,
        customer_group: None,
        caller: Caller::Service("samlet-realtime".into()),
    }
}

/// Whether the connector serving a capability notifies its changes.
fn webhook_fed(
    gateway: &Gateway,
    name: &samlet_connector::ids::ConnectorName,
    orders: bool,
) -> bool {
    gateway
        .connectors
        .iter()
        .find(|c| &c.name == name)
        .and_then(|c| c.change_feed.as_ref())
        .is_some_and(|f| {
            if orders {
                f.notifies_orders()
            } else {
                f.notifies_stock()
            }
        })
}

impl Hub {
    /// The hub of `gateway`.
    pub fn new(gateway: Arc<Gateway>, config: &RealtimeConfig) -> Arc<Hub> {
        let poll = |fed: bool| {
            if fed {
                config.webhook_poll_interval
            } else {
                config.poll_interval
            }
        };
        let g = gateway.clone();
        let orders = Feeds::new(
            Arc::new(move |n: OrderNumber| {
                let g = g.clone();
                Box::pin(async move {
                    let cx = watcher_context(&g);
                    let mut found = g
                        .orders
                        .source
                        .orders(&cx, std::slice::from_ref(&n))
                        .await?;
                    Ok(found.remove(&n).map(Arc::new))
                }) as BoxFuture<'static, _>
            }),
            // Orders are never cached (customer-private): nothing to invalidate.
            Arc::new(|_: &OrderNumber| {}),
            poll(webhook_fed(&gateway, &gateway.orders.connector, true)),
            config.max_feeds,
        );
        let g = gateway.clone();
        let g2 = gateway.clone();
        let stock = Feeds::new(
            Arc::new(move |sku: Sku| {
                let g = g.clone();
                Box::pin(async move {
                    let cx = watcher_context(&g);
                    let mut found = g
                        .inventory
                        .source
                        .stock(&cx, std::slice::from_ref(&sku))
                        .await?;
                    Ok(Arc::new(found.remove(&sku).unwrap_or_default()))
                }) as BoxFuture<'static, _>
            }),
            // A change found by polling is news to the caches too.
            Arc::new(move |sku: &Sku| g2.caches.stock_changed(sku)),
            poll(webhook_fed(&gateway, &gateway.inventory.connector, false)),
            config.max_feeds,
        );
        Arc::new(Hub {
            orders,
            stock,
            gateway,
            closing: watch::Sender::new(false),
        })
    }

    /// Ends every subscription (the server is shutting down: open event streams would keep
    /// it from draining).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes when the server shuts down.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// Acts on changes a vendor reported: forgets cached values and wakes the feeds.
    pub fn apply(&self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Order(n) => self.orders.poke(n),
                Change::AnyOrder => self.orders.poke_all(),
                Change::Stock(sku) => {
                    self.gateway.caches.stock_changed(sku);
                    self.stock.poke(sku);
                }
                Change::AnyStock => {
                    // This replica's entries; a shared Redis level keeps its own until their
                    // TTL (they carry no SKU list to delete by).
                    self.gateway.caches.stock.clear();
                    if let Some(r) = &self.gateway.caches.responses {
                        r.clear();
                    }
                    self.stock.poke_all();
                }
            }
        }
    }

    /// Registers every configured webhook with its vendor, retrying a failed registration
    /// with backoff (from 1 s up to a minute) until it succeeds, and renews registrations the
    /// vendor expires. Runs until done (for ever with renewals).
    pub async fn register_webhooks(self: Arc<Self>) {
        let feeds: Vec<_> = self
            .gateway
            .connectors
            .iter()
            .filter_map(|c| c.change_feed.clone().map(|f| (c.name.clone(), f)))
            .collect();
        let tasks = feeds.into_iter().map(|(name, feed)| async move {
            let mut wait = Duration::from_secs(1);
            loop {
                match feed.register().await {
                    Ok(()) => match feed.renew_every() {
                        // Renewed before the vendor lets the subscription expire.
                        Some(every) => {
                            wait = Duration::from_secs(1);
                            tokio::time::sleep(every).await;
                        }
                        None => break,
                    },
                    Err(e) => {
                        tracing::warn!(connector = %name, error = %e, retry_in = ?wait, "webhook registration failed");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(60));
                    }
                }
            }
        });
        futures::future::join_all(tasks).await;
    }
}

#[cfg(test)]
mod tests {
    fn problems(text: &str) -> String {
        match crate::Config::parse("test.toml", text, &|_| None) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_realtime_settings_are_named_with_their_line() {
        let e = problems("[realtime]\npoll_interval = \"10ms\"\nmax_feeds = 0\n");
        assert!(e.contains("test.toml:2:"), "{e}");
        assert!(e.contains("realtime.poll_interval"), "{e}");
        assert!(e.contains("at least \"100ms\""), "{e}");
        assert!(
            e.contains("test.toml:3:") && e.contains("realtime.max_feeds"),
            "{e}"
        );
        let e = problems("[realtime]\npoll_interval = \"often\"\n");
        assert!(
            e.contains("test.toml:2:") && e.contains("`often` is not a duration"),
            "{e}"
        );
    }

    #[cfg(feature = "business-central")]
    #[test]
    fn business_central_webhooks_need_their_secret() {
        let erp = "[connectors.erp]\nkind = \"business-central\"\ntenant = \"t\"\ncompany_id = \"6f1c3e2a-1b2c-4d5e-8f90-0a1b2c3d4e5f\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let e = problems(&format!(
            "{erp}webhook_url = \"https://gw.example.com/webhooks/erp\"\n"
        ));
        assert!(
            e.contains("client_state") && e.contains("must be set with webhook_url"),
            "{e}"
        );
        let e = problems(&format!("{erp}client_state = \"x\"\n"));
        assert!(e.contains("is set without webhook_url"), "{e}");
        let e = problems(&format!(
            "{erp}webhook_url = \"not a url\"\nclient_state = \"x\"\nwebhook_renew_seconds = 259200\n"
        ));
        assert!(
            e.contains("webhook_url") && e.contains("not an absolute http(s) URL"),
            "{e}"
        );
        assert!(e.contains("webhook_renew_seconds"), "{e}");
    }
}
