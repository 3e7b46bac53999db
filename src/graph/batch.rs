//! The request's batching loader: every key of one type that the executor asks for in one pass
//! over the query's fields goes to the upstream in one call, and what came back is kept for the
//! rest of the request.
//!
//! async-graphql's `DataLoader` gathers keys by sleeping on a timer before it loads. Tokio's
//! timers tick in whole milliseconds, so that cost 1 to 2 ms per round of loads, more than all
//! the gateway's own work on a product page. This loader needs no timer: the first load of a
//! round yields once, and the executor meanwhile polls every sibling field of the same pass
//! (`join_all` over fields and list items), so their keys are in when the round's batch leaves.
//! The batch itself runs as a task of its own in the request's trace span, as before.

use async_graphql::dataloader::Loader;
use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What a batch answers to everyone who waited for it.
type Answer<K, V, E> = Arc<Result<HashMap<K, V>, E>>;

/// The error a load reports when its batch task stopped without answering (it panicked).
#[derive(Debug, Clone, Copy)]
pub struct BatchLost;

/// Batches the loads of one request through `L` (one [`Loader`] impl per key type).
pub struct Batcher<L> {
    inner: Arc<Inner<L>>,
}

struct Inner<L> {
    loader: L,
    /// One [`Round`] per key type, by the key's `TypeId`.
    rounds: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
    /// The request's span: batches are traced inside it.
    span: tracing::Span,
}

/// The state of one key type.
struct Round<K, V, E> {
    /// Values already loaded in this request.
    loaded: HashMap<K, V>,
    /// Keys waiting for the batch that has not left yet.
    keys: HashSet<K>,
    /// Everyone waiting for that batch; the first of them started its task, so the batch exists
    /// exactly while someone waits.
    waiters: Vec<oneshot::Sender<Answer<K, V, E>>>,
}

impl<K, V, E> Default for Round<K, V, E> {
    fn default() -> Self {
        Round {
            loaded: HashMap::new(),
            keys: HashSet::new(),
            waiters: Vec::new(),
        }
    }
}

impl<L: Send + Sync + 'static> Batcher<L> {
    /// A loader for one request, its batches traced in `span`.
    pub fn new(loader: L, span: tracing::Span) -> Self {
        Batcher {
            inner: Arc::new(Inner {
                loader,
                rounds: Mutex::new(HashMap::new()),
                span,
            }),
        }
    }

    /// The value for `key`, if the upstream has one.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<L::Value>, L::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
        L::Error: From<BatchLost> + Sync,
    {
        let mut got = self.load_many(std::iter::once(key.clone())).await?;
        Ok(got.remove(&key))
    }

    /// The values for `keys` that the upstream has.
    pub async fn load_many<K>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<HashMap<K, L::Value>, L::Error>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
        L::Error: From<BatchLost> + Sync,
    {
        let mut out = HashMap::new();
        let mut wanted = Vec::new();
        let (answer, gate) = {
            let mut rounds = self.inner.rounds.lock().unwrap_or_else(|e| e.into_inner());
            let round = round_of::<K, L>(&mut rounds);
            for key in keys {
                match round.loaded.get(&key) {
                    Some(v) => {
                        out.insert(key, v.clone());
                    }
                    None => wanted.push(key),
                }
            }
            if wanted.is_empty() {
                return Ok(out);
            }
            round.keys.extend(wanted.iter().cloned());
            // The first load of a round starts its batch, behind a gate.
            let first = round.waiters.is_empty();
            let (tx, rx) = oneshot::channel();
            round.waiters.push(tx);
            let gate = first.then(|| {
                let (open, gate) = oneshot::channel::<()>();
                let task = Self::batch::<K>(self.inner.clone(), gate);
                tokio::spawn(tracing::Instrument::instrument(
                    task,
                    self.inner.span.clone(),
                ));
                open
            });
            (rx, gate)
        };
        if let Some(open) = gate {
            // The executor polls this pass's other fields before this one again.
            tokio::task::yield_now().await;
            drop(open);
        }
        // (Dropping this future before here drops the gate's sender too: the batch leaves.)
        let answer = answer.await.map_err(|_| L::Error::from(BatchLost))?;
        match &*answer {
            Ok(found) => {
                for key in wanted {
                    if let Some(v) = found.get(&key) {
                        out.insert(key, v.clone());
                    }
                }
                Ok(out)
            }
            Err(e) => Err(e.clone()),
        }
    }

    /// One batch: waits for its gate, takes the round's keys and waiters, loads, answers.
    async fn batch<K>(inner: Arc<Inner<L>>, gate: oneshot::Receiver<()>)
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
        L::Error: Sync,
    {
        let _ = gate.await;
        let (keys, waiters) = {
            let mut rounds = inner.rounds.lock().unwrap_or_else(|e| e.into_inner());
            let round = round_of::<K, L>(&mut rounds);
            (
                round.keys.drain().collect::<Vec<K>>(),
                std::mem::take(&mut round.waiters),
            )
        };
        let result = inner.loader.load(&keys).await;
        if let Ok(found) = &result {
            let mut rounds = inner.rounds.lock().unwrap_or_else(|e| e.into_inner());
            let round = round_of::<K, L>(&mut rounds);
            round
                .loaded
                .extend(found.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let answer = Arc::new(result);
        for w in waiters {
            let _ = w.send(answer.clone());
        }
    }
}

/// The round of key type `K`, made on first use.
fn round_of<K, L>(
    rounds: &mut HashMap<TypeId, Box<dyn Any + Send>>,
) -> &mut Round<K, L::Value, L::Error>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
    L::Error: Sync,
{
    rounds
        .entry(TypeId::of::<K>())
        .or_insert_with(|| Box::new(Round::<K, L::Value, L::Error>::default()))
        .downcast_mut()
        .expect("one round type per key type")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Doubles {
        batches: Mutex<Vec<Vec<u32>>>,
        fail: AtomicUsize,
    }

    #[derive(Debug, Clone, PartialEq)]
    struct Failed(&'static str);

    impl From<BatchLost> for Failed {
        fn from(_: BatchLost) -> Self {
            Failed("lost")
        }
    }

    impl Loader<u32> for Doubles {
        type Value = u64;
        type Error = Failed;
        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u64>, Failed> {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            self.batches.lock().unwrap().push(sorted);
            if self.fail.load(Ordering::Relaxed) > 0 {
                return Err(Failed("upstream"));
            }
            // Odd keys have no value.
            Ok(keys
                .iter()
                .filter(|k| *k % 2 == 0)
                .map(|&k| (k, u64::from(k) * 2))
                .collect())
        }
    }

    fn batches(b: &Batcher<Doubles>) -> Vec<Vec<u32>> {
        b.inner.loader.batches.lock().unwrap().clone()
    }

    async fn siblings(b: &Batcher<Doubles>) {
        // As the executor resolves a list: all items polled in one pass.
        let got = futures::future::join_all((0..10u32).map(|k| b.load_one(k))).await;
        for (k, v) in got.into_iter().enumerate() {
            let k = k as u64;
            assert_eq!(v.unwrap(), (k % 2 == 0).then_some(k * 2));
        }
    }

    #[tokio::test]
    async fn siblings_of_one_pass_share_one_batch_and_the_answers_are_kept() {
        let b = Batcher::new(Doubles::default(), tracing::Span::none());
        siblings(&b).await;
        assert_eq!(batches(&b), vec![(0..10).collect::<Vec<_>>()]);
        // Loaded values are answered from the request's memory; missing ones are asked again.
        let again = b.load_many([2u32, 4, 11]).await.unwrap();
        assert_eq!(again, HashMap::from([(2, 4), (4, 8)]));
        assert_eq!(batches(&b)[1], vec![11]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn siblings_share_a_batch_on_a_multi_threaded_runtime_too() {
        for _ in 0..50 {
            let b = Batcher::new(Doubles::default(), tracing::Span::none());
            siblings(&b).await;
            assert_eq!(batches(&b).len(), 1, "{:?}", batches(&b));
        }
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_load_that_waited_for_it() {
        let b = Batcher::new(Doubles::default(), tracing::Span::none());
        b.inner.loader.fail.store(1, Ordering::Relaxed);
        let got = futures::future::join_all((0..3u32).map(|k| b.load_one(k))).await;
        assert!(got.iter().all(|r| r == &Err(Failed("upstream"))));
        // Nothing was kept: the next load asks again.
        b.inner.loader.fail.store(0, Ordering::Relaxed);
        assert_eq!(b.load_one(2u32).await, Ok(Some(4)));
        assert_eq!(batches(&b).len(), 2);
    }

    #[tokio::test]
    async fn a_dropped_first_load_does_not_strand_the_others() {
        let b = Batcher::new(Doubles::default(), tracing::Span::none());
        let mut first = Box::pin(b.load_one(0u32));
        let mut second = Box::pin(b.load_one(2u32));
        // Both join the round; the first (which holds its gate) is dropped before it opens it.
        assert!(futures::poll!(&mut first).is_pending());
        assert!(futures::poll!(&mut second).is_pending());
        drop(first);
        assert_eq!(second.await, Ok(Some(4)));
        assert_eq!(batches(&b), vec![vec![0, 2]]);
    }
}
