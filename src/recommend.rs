//! Matching accessories and personal recommendations, computed per request from what the
//! systems of record already hold (the PIM's categories and variant attributes, the customer's
//! orders and wishlist). The gateway stores nothing of its own: no profile, no co-purchase
//! table. None of the supported marketing systems offers recommendations through its API, so
//! there is no vendor to ask first.
//!
//! - **Accessories** of a product: products of the categories configured to accessorise its
//!   category (`[recommendations] complements`), each shown as the variant that shares the
//!   product's colour (the `match_attribute` axis) where it has one. Matching ones come first;
//!   within each group the complement categories take turns (in configured order), each in the
//!   PIM's order, so four suggestions for a sofa are a cushion, a lamp and a rug, not four
//!   cushions. The product itself is never its own accessory.
//! - **Recommendations** for a customer: every SKU on their wishlist and in their latest orders
//!   is a seed; each seed points at its best accessories; a candidate scores the weight of every
//!   seed pointing at it (a wishlisted SKU weighs [`WISHLIST_WEIGHT`], a purchased one
//!   [`PURCHASE_WEIGHT`]: what someone wants now says more than what they bought last year).
//!   Products they already bought or wishlisted are left out. Each recommendation names the
//!   seed that weighed most for it, and whether that seed was wishlisted or purchased.
//!
//! The candidates of a category are the first `max_candidates` products the PIM lists for it,
//! read through [`ProductSource::products_in_category`](samlet_connector::capability::ProductSource::products_in_category)
//! and kept in the shared product cache (keyed by channel and category), so a category costs
//! one capability call per cache lifetime, whichever product or customer asks.

use samlet_connector::context::Locale;
use samlet_connector::ids::{ProductId, Sku};
use samlet_connector::model::{Product, Variant};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// What a wishlisted seed weighs.
pub const WISHLIST_WEIGHT: u32 = 2;
/// What a purchased seed weighs.
pub const PURCHASE_WEIGHT: u32 = 1;

/// `[recommendations]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RecommendationsConfig {
    /// Category code -> the categories that accessorise it, in order of preference, e.g.
    /// `sofas = ["textiles", "lamps", "rugs"]`. A category not listed has no accessories.
    pub complements: BTreeMap<String, Vec<String>>,
    /// Products read per complement category (the first ones in the PIM's order), 1..=500.
    pub max_candidates: usize,
    /// The variant attribute two variants must share to "match", e.g. `"color"`.
    pub match_attribute: String,
    /// How many of the customer's latest orders seed recommendations, 1..=50.
    pub recent_orders: usize,
}

impl Default for RecommendationsConfig {
    fn default() -> Self {
        RecommendationsConfig {
            complements: BTreeMap::new(),
            max_candidates: 48,
            match_attribute: "color".into(),
            recent_orders: 5,
        }
    }
}

impl RecommendationsConfig {
    /// Problems with the values, as `(key path below [recommendations], message)`.
    pub fn problems(&self) -> Vec<(Vec<String>, String)> {
        let mut out = Vec::new();
        let at = |k: &str| vec!["recommendations".to_owned(), k.to_owned()];
        if !(1..=500).contains(&self.max_candidates) {
            out.push((
                at("max_candidates"),
                "write a number from 1 to 500 (products read per complement category)".to_owned(),
            ));
        }
        if !(1..=50).contains(&self.recent_orders) {
            out.push((
                at("recent_orders"),
                "write a number from 1 to 50 (latest orders that seed recommendations)".to_owned(),
            ));
        }
        if self.match_attribute.trim().is_empty() {
            out.push((
                at("match_attribute"),
                "name the variant attribute accessories match on, e.g. \"color\"".to_owned(),
            ));
        }
        for (category, list) in &self.complements {
            let mut path = at("complements");
            path.push(category.clone());
            if list.is_empty() {
                out.push((
                    path,
                    "list at least one category, e.g. [\"textiles\", \"lamps\"], or leave the category out".to_owned(),
                ));
            } else if list.iter().any(|c| c == category) {
                out.push((path, format!("`{category}` cannot accessorise itself")));
            } else if list.iter().any(|c| c.trim().is_empty()) {
                out.push((path, "a category code cannot be empty".to_owned()));
            }
        }
        out
    }

    /// The complement categories of a product classified in `categories`, without repeats,
    /// in configured order.
    pub fn complements_of<'a>(&'a self, categories: &[String]) -> Vec<&'a str> {
        let mut seen = HashSet::new();
        categories
            .iter()
            .filter_map(|c| self.complements.get(c))
            .flatten()
            .map(String::as_str)
            .filter(|c| !categories.iter().any(|own| own == c) && seen.insert(*c))
            .collect()
    }
}

/// The value a variant has for the match attribute, compared in one language (English, else
/// any) and case-insensitively, so `Oak` and `oak` match and `eg`/`oak` are one colour.
pub fn match_value(variant: &Variant, attribute: &str) -> Option<String> {
    variant
        .attributes
        .iter()
        .find(|a| a.code == attribute)
        .and_then(|a| a.value.get(&Locale::en_gb()))
        .map(str::to_lowercase)
}

/// One suggested accessory.
#[derive(Debug, Clone)]
pub struct Suggestion {
    /// The product suggested.
    pub product: Arc<Product>,
    /// The variant shown: the matching one, else the first.
    pub sku: Sku,
    /// Whether that variant shares the match value.
    pub matches: bool,
    /// The complement category it was found in.
    pub category: String,
}

/// The accessories of `product` as seen from `variant`, best first: every candidate product
/// once (never `product` itself), in the order the module documentation describes.
/// `candidates` holds each complement category's products in the PIM's order.
pub fn accessories(
    config: &RecommendationsConfig,
    product: &Product,
    variant: Option<&Variant>,
    candidates: &HashMap<String, Arc<Vec<Arc<Product>>>>,
) -> Vec<Suggestion> {
    let wanted = variant.and_then(|v| match_value(v, &config.match_attribute));
    let mut seen: HashSet<&ProductId> = HashSet::from([&product.id]);
    // Per category, matching and other suggestions, each in the PIM's order.
    let mut groups: Vec<(Vec<Suggestion>, Vec<Suggestion>)> = Vec::new();
    for category in config.complements_of(&product.categories) {
        let Some(list) = candidates.get(category) else {
            continue;
        };
        let (mut matching, mut others) = (Vec::new(), Vec::new());
        for p in list.iter() {
            if !seen.insert(&p.id) {
                continue;
            }
            let hit = wanted.as_ref().and_then(|w| {
                p.variants
                    .iter()
                    .find(|v| match_value(v, &config.match_attribute).as_ref() == Some(w))
            });
            let (chosen, matches) = match hit {
                Some(v) => (v, true),
                None => match p.variants.first() {
                    Some(v) => (v, false),
                    None => continue,
                },
            };
            let s = Suggestion {
                product: p.clone(),
                sku: chosen.sku.clone(),
                matches,
                category: category.to_owned(),
            };
            if matches {
                matching.push(s);
            } else {
                others.push(s);
            }
        }
        groups.push((matching, others));
    }
    let (matching, others): (Vec<_>, Vec<_>) = groups.into_iter().unzip();
    let mut out = take_turns(matching);
    out.extend(take_turns(others));
    out
}

/// The first of each list, then the second of each, and so on.
fn take_turns(lists: Vec<Vec<Suggestion>>) -> Vec<Suggestion> {
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for it in &mut iters {
            if let Some(s) = it.next() {
                out.push(s);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// Why a customer sees a recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedKind {
    /// It accessorises something on their wishlist.
    Wishlisted,
    /// It accessorises something they bought.
    Purchased,
}

impl SeedKind {
    fn weight(self) -> u32 {
        match self {
            SeedKind::Wishlisted => WISHLIST_WEIGHT,
            SeedKind::Purchased => PURCHASE_WEIGHT,
        }
    }
}

/// A seed: a SKU the customer wished for or bought, with the product holding it.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The SKU.
    pub sku: Sku,
    /// Its product.
    pub product: Arc<Product>,
    /// Wishlisted or purchased.
    pub kind: SeedKind,
}

/// One recommendation.
#[derive(Debug, Clone)]
pub struct Recommendation {
    /// The suggested accessory.
    pub suggestion: Suggestion,
    /// The summed weight of the seeds pointing at it.
    pub score: u32,
    /// The seed that weighed most (the first such seed on ties).
    pub based_on: Sku,
    /// That seed's kind.
    pub reason: SeedKind,
}

/// Recommendations from `seeds` (wishlist first, then purchases newest first), best first: by
/// score, then by the best place any seed gave the candidate, then by seed order. `per_seed`
/// of each seed's accessories take part. Products among the seeds are never recommended.
pub fn recommend(
    config: &RecommendationsConfig,
    seeds: &[Seed],
    candidates: &HashMap<String, Arc<Vec<Arc<Product>>>>,
    per_seed: usize,
) -> Vec<Recommendation> {
    let owned: HashSet<&ProductId> = seeds.iter().map(|s| &s.product.id).collect();
    struct Tally {
        rec: Recommendation,
        best_weight: u32,
        best_place: usize,
        first_seed: usize,
    }
    let mut tallies: Vec<Tally> = Vec::new();
    let mut index: HashMap<ProductId, usize> = HashMap::new();
    for (n, seed) in seeds.iter().enumerate() {
        let variant = seed.product.variant(&seed.sku);
        let found = accessories(config, &seed.product, variant, candidates);
        let weight = seed.kind.weight();
        for (place, s) in found
            .into_iter()
            .filter(|s| !owned.contains(&s.product.id))
            .take(per_seed)
            .enumerate()
        {
            match index.get(&s.product.id) {
                Some(&i) => {
                    let t = &mut tallies[i];
                    t.rec.score += weight;
                    t.best_place = t.best_place.min(place);
                    if weight > t.best_weight {
                        t.best_weight = weight;
                        t.rec.based_on = seed.sku.clone();
                        t.rec.reason = seed.kind;
                    }
                }
                None => {
                    index.insert(s.product.id.clone(), tallies.len());
                    tallies.push(Tally {
                        rec: Recommendation {
                            suggestion: s,
                            score: weight,
                            based_on: seed.sku.clone(),
                            reason: seed.kind,
                        },
                        best_weight: weight,
                        best_place: place,
                        first_seed: n,
                    });
                }
            }
        }
    }
    tallies.sort_by(|a, b| {
        b.rec
            .score
            .cmp(&a.rec.score)
            .then(a.best_place.cmp(&b.best_place))
            .then(a.first_seed.cmp(&b.first_seed))
    });
    tallies.into_iter().map(|t| t.rec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_connector::model::{Attribute, LocalizedText};

    fn text(s: &str) -> LocalizedText {
        let mut t = LocalizedText::default();
        t.insert(Locale::en_gb(), s);
        t
    }

    fn product(id: &str, category: &str, colours: &[&str]) -> Arc<Product> {
        Arc::new(Product {
            id: ProductId::new(id),
            name: text(id),
            description: text(""),
            categories: vec![category.to_owned()],
            attributes: vec![],
            media: vec![],
            variants: colours
                .iter()
                .map(|c| Variant {
                    sku: Sku::new(format!("{id}-{}", c.to_uppercase())),
                    name: text(id),
                    attributes: vec![Attribute {
                        code: "color".into(),
                        value: text(c),
                    }],
                    media: vec![],
                })
                .collect(),
            updated_at: None,
        })
    }

    fn config() -> RecommendationsConfig {
        RecommendationsConfig {
            complements: BTreeMap::from([
                ("sofas".into(), vec!["textiles".into(), "lamps".into()]),
                ("beds".into(), vec!["textiles".into()]),
            ]),
            ..RecommendationsConfig::default()
        }
    }

    fn world() -> HashMap<String, Arc<Vec<Arc<Product>>>> {
        HashMap::from([
            (
                "textiles".into(),
                Arc::new(vec![
                    product("T1", "textiles", &["white"]),
                    product("T2", "textiles", &["blue", "Green"]),
                    product("T3", "textiles", &["green"]),
                ]),
            ),
            (
                "lamps".into(),
                Arc::new(vec![
                    product("L1", "lamps", &["black"]),
                    product("L2", "lamps", &["green", "white"]),
                ]),
            ),
        ])
    }

    fn skus(s: &[Suggestion]) -> Vec<&str> {
        s.iter().map(|s| s.sku.as_str()).collect()
    }

    #[test]
    fn matching_colour_comes_first_and_categories_take_turns() {
        let sofa = product("S1", "sofas", &["oak", "green"]);
        let got = accessories(&config(), &sofa, sofa.variants.get(1), &world());
        // Green ones (textiles, lamps, textiles), then the others in turn.
        assert_eq!(
            skus(&got),
            ["T2-GREEN", "L2-GREEN", "T3-GREEN", "T1-WHITE", "L1-BLACK"]
        );
        assert!(got[..3].iter().all(|s| s.matches) && !got[3].matches);
        // From the oak variant nothing matches: plain turns in PIM order.
        let got = accessories(&config(), &sofa, sofa.variants.first(), &world());
        assert_eq!(
            skus(&got),
            ["T1-WHITE", "L1-BLACK", "T2-BLUE", "L2-GREEN", "T3-GREEN"]
        );
    }

    #[test]
    fn a_product_is_never_its_own_accessory_and_unlisted_categories_have_none() {
        let cushion = world()["textiles"][0].clone();
        let mut c = config();
        c.complements
            .insert("textiles".into(), vec!["lamps".into(), "textiles".into()]);
        // Its own category is skipped even when configured (and reported by `problems`).
        let got = accessories(&c, &cushion, cushion.variants.first(), &world());
        assert_eq!(skus(&got), ["L2-WHITE", "L1-BLACK"]);
        assert!(!c.problems().is_empty());
        let lamp = world()["lamps"][0].clone();
        assert!(accessories(&config(), &lamp, None, &world()).is_empty());
    }

    #[test]
    fn wishlist_seeds_outweigh_purchases_and_owned_products_are_left_out() {
        let sofa = product("S1", "sofas", &["green"]);
        let bed = product("B1", "beds", &["white"]);
        let seeds = [
            Seed {
                sku: Sku::new("B1-WHITE"),
                product: bed,
                kind: SeedKind::Wishlisted,
            },
            Seed {
                sku: Sku::new("S1-GREEN"),
                product: sofa,
                kind: SeedKind::Purchased,
            },
            // They already own T2 (bought in another colour).
            Seed {
                sku: Sku::new("T2-BLUE"),
                product: world()["textiles"][1].clone(),
                kind: SeedKind::Purchased,
            },
        ];
        let got = recommend(&config(), &seeds, &world(), 8);
        let shape: Vec<(&str, u32, &str, SeedKind)> = got
            .iter()
            .map(|r| {
                (
                    r.suggestion.product.id.as_str(),
                    r.score,
                    r.based_on.as_str(),
                    r.reason,
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                // Pointed at by the wishlisted bed (2) and the bought sofa (1).
                ("T1", 3, "B1-WHITE", SeedKind::Wishlisted),
                ("T3", 3, "B1-WHITE", SeedKind::Wishlisted),
                // The sofa's lamps; L2 matches its green, so it ranks first.
                ("L2", 1, "S1-GREEN", SeedKind::Purchased),
                ("L1", 1, "S1-GREEN", SeedKind::Purchased),
            ]
        );
    }

    #[test]
    fn the_config_file_names_the_line_of_a_bad_value_or_unknown_key() {
        let text = "[recommendations]\nmax_candidates = 0\n[recommendations.complements]\nsofas = [\"sofas\"]\n";
        let e = crate::Config::parse("t.toml", text, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.toml:2:1: recommendations.max_candidates: write a number from 1 to 500"),
            "{e}"
        );
        assert!(
            e.contains(
                "t.toml:4:1: recommendations.complements.sofas: `sofas` cannot accessorise itself"
            ),
            "{e}"
        );
        let e = crate::Config::parse("t.toml", "[recommendations]\nmax_candidate = 3\n", &|_| {
            None
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("t.toml:2:") && e.contains("max_candidate"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_reported_with_their_keys() {
        let c = RecommendationsConfig {
            max_candidates: 0,
            recent_orders: 51,
            match_attribute: " ".into(),
            complements: BTreeMap::from([("sofas".into(), vec![])]),
        };
        let keys: Vec<String> = c.problems().iter().map(|(k, _)| k.join(".")).collect();
        assert_eq!(
            keys,
            [
                "recommendations.max_candidates",
                "recommendations.recent_orders",
                "recommendations.match_attribute",
                "recommendations.complements.sofas"
            ]
        );
        assert!(config().problems().is_empty());
    }
}
