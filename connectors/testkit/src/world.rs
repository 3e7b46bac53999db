//! The world: a deterministic Nordic furniture retailer.
//!
//! Every entity is a pure function of `(seed, index)`, so simulators and tests agree on the
//! truth without sharing state, and a world of scale 100 is as quick to open as one of scale 1.
//! Only the indexes that turn a match key back into an index (e-mail, phone, loyalty number,
//! orders per customer) are built up front.
//!
//! Customers exist in up to three systems, overlapping but not identical, as in real life:
//! - the CRM holds everyone, with e-mails in the casing people typed;
//! - the marketing system holds about 80 %, e-mails lower-cased, and for some customers it holds
//!   the only phone number;
//! - the ERP holds everyone who has ordered and every company, e-mails sometimes upper-cased.
//!
//! All systems carry the shared customer number, as integrations push it into each of them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use samlet_connector::context::{Currency, Locale, PriceChannel};
use samlet_connector::ids::{
    CustomerGroup, CustomerNumber, LocationId, OrderNumber, ProductId, Sku,
};
use samlet_connector::model::{
    Address, Attribute, Consent, ConsentChannel, CustomerKind, LocalizedText, Location,
    LocationKind, Media, Money, Order, OrderLine, OrderStatus, Price, Product, Shipment,
    StockLevel, Variant,
};
use std::collections::HashMap;

/// The customer group that B2B prices are kept for.
pub const B2B_GROUP: &str = "B2B";
/// The locales every text exists in.
pub const LOCALES: [&str; 4] = ["da-DK", "sv-SE", "nb-NO", "en-GB"];
/// The currencies every price exists in.
pub const CURRENCIES: [Currency; 4] = [Currency::DKK, Currency::SEK, Currency::NOK, Currency::EUR];

/// How big and which world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldConfig {
    /// The seed: the same seed gives the same world.
    pub seed: u64,
    /// Scale factor: 1 gives 2,000 products, 10,000 customers and 50,000 orders.
    pub scale: u32,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig { seed: 42, scale: 1 }
    }
}

/// The systems that hold customer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerSlice {
    /// The CRM (Salesforce): everyone.
    Crm,
    /// The marketing system (Klaviyo): most people, with consents.
    Marketing,
    /// The ERP (Business Central): customers who ordered, and companies.
    Erp,
}

impl CustomerSlice {
    /// All slices.
    pub const ALL: [CustomerSlice; 3] = [
        CustomerSlice::Crm,
        CustomerSlice::Marketing,
        CustomerSlice::Erp,
    ];
}

/// The truth about one customer: what the unified graph should answer.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldCustomer {
    /// Index in the world.
    pub index: u32,
    /// Shared customer number, e.g. `C0000042`.
    pub number: CustomerNumber,
    /// Person or company.
    pub kind: CustomerKind,
    /// Given name (the contact person for companies).
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Company name, for companies.
    pub company_name: Option<String>,
    /// E-mail, normalised (lower case).
    pub email: String,
    /// Phone in E.164, if any system holds one.
    pub phone: Option<String>,
    /// Country, ISO 3166-1 alpha-2.
    pub country: &'static str,
    /// Postal address.
    pub address: Address,
    /// Loyalty member number, for members.
    pub loyalty_number: Option<String>,
    /// Loyalty tier, for members.
    pub loyalty_tier: Option<&'static str>,
    /// `B2B` for companies.
    pub customer_group: Option<CustomerGroup>,
    /// Marketing consents (held by the marketing system).
    pub consents: Vec<Consent>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One system's record of a customer, with values as that system stores them (raw casing
/// and phone formats).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemCustomer {
    /// The shared customer number.
    pub number: CustomerNumber,
    /// Person or company.
    pub kind: CustomerKind,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Company name.
    pub company_name: Option<String>,
    /// E-mail as stored (casing varies by system).
    pub email: String,
    /// Phone as stored (format varies by system), if this system has one.
    pub phone: Option<String>,
    /// Postal address.
    pub address: Address,
    /// Loyalty number, where this system stores it (CRM and marketing).
    pub loyalty_number: Option<String>,
    /// Loyalty tier (marketing only).
    pub loyalty_tier: Option<&'static str>,
    /// Price group (ERP only).
    pub customer_group: Option<CustomerGroup>,
    /// Consents (marketing only).
    pub consents: Vec<Consent>,
    /// Last change in this system.
    pub updated_at: DateTime<Utc>,
}

/// The world.
#[derive(Debug)]
pub struct World {
    config: WorldConfig,
    locations: Vec<Location>,
    products: u32,
    customers: u32,
    orders: u32,
    by_email: HashMap<String, u32>,
    by_phone: HashMap<String, u32>,
    /// Orders of customer `i` are `order_index[order_start[i]..order_start[i + 1]]`, oldest first.
    order_start: Vec<u32>,
    order_index: Vec<u32>,
    /// Whether customer `i` is in the ERP.
    in_erp: Vec<bool>,
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: splitmix64 over (seed, entity tag, index, field).

const T_PRODUCT: u64 = 1;
const T_PRICE: u64 = 3;
const T_STOCK: u64 = 4;
const T_CUSTOMER: u64 = 5;
const T_ORDER: u64 = 6;
const T_LINE: u64 = 7;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rnd(seed: u64, tag: u64, index: u64, field: u64) -> u64 {
    mix(seed
        ^ mix(tag.wrapping_mul(0x1000_0000_01B3) ^ mix(index.wrapping_mul(64).wrapping_add(field))))
}

fn pick<T: Copy>(items: &[T], r: u64) -> T {
    items[(r % items.len() as u64) as usize]
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

struct CategoryDef {
    code: &'static str,
    /// da, sv, nb, en
    names: [&'static str; 4],
    base_price: u32,
}

const CATEGORIES: [CategoryDef; 10] = [
    CategoryDef {
        code: "sofas",
        names: ["sofa", "soffa", "sofa", "sofa"],
        base_price: 7999,
    },
    CategoryDef {
        code: "chairs",
        names: ["stol", "stol", "stol", "chair"],
        base_price: 1299,
    },
    CategoryDef {
        code: "tables",
        names: ["bord", "bord", "bord", "table"],
        base_price: 3499,
    },
    CategoryDef {
        code: "beds",
        names: ["seng", "säng", "seng", "bed"],
        base_price: 6499,
    },
    CategoryDef {
        code: "lamps",
        names: ["lampe", "lampa", "lampe", "lamp"],
        base_price: 899,
    },
    CategoryDef {
        code: "rugs",
        names: ["tæppe", "matta", "teppe", "rug"],
        base_price: 1999,
    },
    CategoryDef {
        code: "storage",
        names: ["reol", "hylla", "hylle", "shelf"],
        base_price: 2499,
    },
    CategoryDef {
        code: "textiles",
        names: ["pude", "kudde", "pute", "cushion"],
        base_price: 299,
    },
    CategoryDef {
        code: "outdoor",
        names: ["havestol", "trädgårdsstol", "hagestol", "garden chair"],
        base_price: 1499,
    },
    CategoryDef {
        code: "accessories",
        names: ["vase", "vas", "vase", "vase"],
        base_price: 249,
    },
];

const MODELS: [&str; 32] = [
    "Aarhus", "Visby", "Bergen", "Skagen", "Ystad", "Lofoten", "Møn", "Gotland", "Ribe", "Falun",
    "Tromsø", "Læsø", "Kiruna", "Ålesund", "Fanø", "Umeå", "Hygge", "Lagom", "Koselig", "Fika",
    "Nord", "Fjord", "Skov", "Sjö", "Vind", "Lys", "Sten", "Ek", "Bjørk", "Ask", "Lind", "Hav",
];

/// (code, da, sv, nb, en)
const COLOURS: [(&str, [&str; 4]); 8] = [
    ("oak", ["eg", "ek", "eik", "oak"]),
    ("walnut", ["valnød", "valnöt", "valnøtt", "walnut"]),
    ("black", ["sort", "svart", "svart", "black"]),
    ("white", ["hvid", "vit", "hvit", "white"]),
    ("sand", ["sand", "sand", "sand", "sand"]),
    ("green", ["grøn", "grön", "grønn", "green"]),
    ("blue", ["blå", "blå", "blå", "blue"]),
    (
        "terracotta",
        ["terrakotta", "terrakotta", "terrakotta", "terracotta"],
    ),
];

const MATERIALS: [(&str, [&str; 4]); 5] = [
    ("wood", ["træ", "trä", "tre", "wood"]),
    ("wool", ["uld", "ull", "ull", "wool"]),
    ("linen", ["hør", "linne", "lin", "linen"]),
    ("steel", ["stål", "stål", "stål", "steel"]),
    ("leather", ["læder", "läder", "lær", "leather"]),
];

const DESCRIPTION_TEMPLATES: [&str; 4] = [
    "{name} i {material}. Designet i Norden og bygget til at holde i mange år.",
    "{name} i {material}. Formgiven i Norden och byggd för att hålla länge.",
    "{name} i {material}. Designet i Norden og bygget for å vare lenge.",
    "{name} in {material}. Designed in the Nordics and built to last.",
];

const FIRST_NAMES: [&str; 24] = [
    "Anna", "Mette", "Sofie", "Ida", "Emma", "Freja", "Astrid", "Ingrid", "Karin", "Linnea",
    "Maja", "Nora", "Lars", "Jens", "Mikkel", "Søren", "Erik", "Nils", "Olof", "Henrik", "Magnus",
    "Ole", "Bjørn", "Anders",
];
const LAST_NAMES: [&str; 20] = [
    "Hansen",
    "Jensen",
    "Nielsen",
    "Pedersen",
    "Andersen",
    "Larsen",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Lindqvist",
    "Berg",
    "Olsen",
    "Haugen",
    "Johansen",
    "Dahl",
    "Lund",
    "Holm",
    "Bakke",
    "Strand",
];
const COMPANY_WORDS: [&str; 12] = [
    "Nordlys",
    "Fjordhus",
    "Skovly",
    "Havblik",
    "Kontor",
    "Design",
    "Bolig",
    "Interiør",
    "Hotel",
    "Café",
    "Studio",
    "Arkitekter",
];
const EMAIL_DOMAINS: [&str; 5] = [
    "example.dk",
    "example.se",
    "example.no",
    "mail.example.com",
    "post.example.net",
];

/// Countries customers live in, with their currency and phone prefix.
const COUNTRIES: [(&str, Currency, &str); 3] = [
    ("DK", Currency::DKK, "45"),
    ("SE", Currency::SEK, "46"),
    ("NO", Currency::NOK, "47"),
];

const CARRIERS: [(&str, &str); 4] = [
    ("PostNord", "https://tracking.postnord.com/tracking?id="),
    ("GLS", "https://gls-group.com/track/"),
    ("Bring", "https://tracking.bring.com/tracking/"),
    ("DHL", "https://www.dhl.com/track?tracking-id="),
];

const TIERS: [&str; 3] = ["BRONZE", "SILVER", "GOLD"];

fn locations() -> Vec<Location> {
    let store =
        |id: &str, name: &str, street: &str, zip: &str, city: &str, country: &str| Location {
            id: LocationId::new(id),
            name: name.to_owned(),
            kind: LocationKind::Store,
            address: Address {
                street: street.to_owned(),
                postal_code: zip.to_owned(),
                city: city.to_owned(),
                country: country.to_owned(),
            },
            click_and_collect: true,
        };
    let mut all = vec![
        store(
            "DK-CPH",
            "Samlet København",
            "Strøget 12",
            "1160",
            "København K",
            "DK",
        ),
        store(
            "DK-AAR",
            "Samlet Aarhus",
            "Søndergade 40",
            "8000",
            "Aarhus C",
            "DK",
        ),
        store(
            "DK-ODE",
            "Samlet Odense",
            "Vestergade 18",
            "5000",
            "Odense C",
            "DK",
        ),
        store(
            "DK-AAL",
            "Samlet Aalborg",
            "Bispensgade 9",
            "9000",
            "Aalborg",
            "DK",
        ),
        store(
            "SE-STO",
            "Samlet Stockholm",
            "Drottninggatan 55",
            "111 21",
            "Stockholm",
            "SE",
        ),
        store(
            "SE-GOT",
            "Samlet Göteborg",
            "Kungsgatan 30",
            "411 19",
            "Göteborg",
            "SE",
        ),
        store(
            "SE-MAL",
            "Samlet Malmö",
            "Södergatan 8",
            "211 34",
            "Malmö",
            "SE",
        ),
        store(
            "NO-OSL",
            "Samlet Oslo",
            "Karl Johans gate 20",
            "0159",
            "Oslo",
            "NO",
        ),
        store(
            "NO-BGO",
            "Samlet Bergen",
            "Torgallmenningen 7",
            "5014",
            "Bergen",
            "NO",
        ),
        store(
            "NO-TRD",
            "Samlet Trondheim",
            "Nordre gate 11",
            "7011",
            "Trondheim",
            "NO",
        ),
    ];
    all.push(Location {
        id: LocationId::new("WH-ONLINE"),
        name: "Samlet Online Warehouse".to_owned(),
        kind: LocationKind::Warehouse,
        address: Address {
            street: "Logistikvej 1".to_owned(),
            postal_code: "6000".to_owned(),
            city: "Kolding".to_owned(),
            country: "DK".to_owned(),
        },
        click_and_collect: false,
    });
    all
}

fn locale(i: usize) -> Locale {
    LOCALES[i].parse().expect("LOCALES are valid locales")
}

fn text(values: [String; 4]) -> LocalizedText {
    let mut t = LocalizedText::default();
    for (i, v) in values.into_iter().enumerate() {
        t.insert(locale(i), v);
    }
    t
}

fn en_only(v: &str) -> LocalizedText {
    let mut t = LocalizedText::default();
    t.insert(Locale::en_gb(), v);
    t
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'æ' | 'ä' | 'Æ' | 'Ä' => 'a',
            'ø' | 'ö' | 'Ø' | 'Ö' => 'o',
            'å' | 'Å' => 'a',
            _ => c.to_ascii_lowercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect()
}

impl World {
    /// Generates the world for `config`.
    pub fn new(config: WorldConfig) -> World {
        let scale = config.scale.max(1);
        World::with_sizes(config, 2_000 * scale, 10_000 * scale, 50_000 * scale)
    }

    /// A world with explicit sizes, e.g. a small one to seed into a real vendor system in a
    /// test. Entities are the same functions of their index as in a full world.
    pub fn with_sizes(config: WorldConfig, products: u32, customers: u32, orders: u32) -> World {
        let scale = config.scale.max(1);
        let (products, customers, orders) = (products.max(1), customers.max(1), orders);
        let mut world = World {
            config: WorldConfig {
                seed: config.seed,
                scale,
            },
            locations: locations(),
            products,
            customers,
            orders,
            by_email: HashMap::with_capacity(customers as usize),
            by_phone: HashMap::with_capacity(customers as usize),
            order_start: Vec::new(),
            order_index: Vec::new(),
            in_erp: Vec::new(),
        };
        // Orders per customer, by counting sort over each order's customer.
        let mut counts = vec![0u32; customers as usize + 1];
        for j in 0..orders {
            counts[world.order_customer_index(j) as usize + 1] += 1;
        }
        for i in 0..customers as usize {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut index = vec![0u32; orders as usize];
        for j in 0..orders {
            let c = world.order_customer_index(j) as usize;
            index[fill[c] as usize] = j;
            fill[c] += 1;
        }
        world.order_start = counts;
        world.order_index = index;
        world.in_erp = (0..customers)
            .map(|i| {
                world.customer_kind(i) == CustomerKind::Company
                    || world.order_start[i as usize + 1] > world.order_start[i as usize]
            })
            .collect();
        for i in 0..customers {
            let c = world.customer(i);
            world.by_email.insert(c.email.clone(), i);
            if let Some(p) = c.phone {
                world.by_phone.insert(p, i);
            }
        }
        world
    }

    /// The configuration it was generated from.
    pub fn config(&self) -> WorldConfig {
        self.config
    }

    fn seed(&self) -> u64 {
        self.config.seed
    }

    // ----- locations -----------------------------------------------------------------------

    /// Every store and warehouse.
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    // ----- products ------------------------------------------------------------------------

    /// Number of products.
    pub fn product_count(&self) -> u32 {
        self.products
    }

    /// The product id of product `i`: `P000042`.
    pub fn product_id(i: u32) -> ProductId {
        ProductId::new(format!("P{i:06}"))
    }

    /// The index of a product id, if it names a product of this world.
    pub fn product_index(&self, id: &ProductId) -> Option<u32> {
        let i: u32 = id.as_str().strip_prefix('P')?.parse().ok()?;
        (i < self.products && Self::product_id(i) == *id).then_some(i)
    }

    fn variant_count(&self, i: u32) -> u32 {
        1 + (rnd(self.seed(), T_PRODUCT, i as u64, 1) % 4) as u32
    }

    fn colour_of(&self, i: u32, v: u32) -> usize {
        let first = rnd(self.seed(), T_PRODUCT, i as u64, 2) as usize;
        (first + v as usize * 3) % COLOURS.len()
    }

    /// The SKUs of product `i`: `P000042-OAK`.
    pub fn skus(&self, i: u32) -> Vec<Sku> {
        (0..self.variant_count(i))
            .map(|v| {
                Sku::new(format!(
                    "{}-{}",
                    Self::product_id(i),
                    COLOURS[self.colour_of(i, v)].0.to_uppercase()
                ))
            })
            .collect()
    }

    /// The product and variant index of a SKU, if it names a variant of this world.
    pub fn sku_index(&self, sku: &Sku) -> Option<(u32, u32)> {
        let (pid, _) = sku.as_str().split_once('-')?;
        let i = self.product_index(&ProductId::new(pid))?;
        let v = self.skus(i).iter().position(|s| s == sku)?;
        Some((i, v as u32))
    }

    fn category(&self, i: u32) -> &'static CategoryDef {
        &CATEGORIES[(rnd(self.seed(), T_PRODUCT, i as u64, 3) % CATEGORIES.len() as u64) as usize]
    }

    /// The category code of product `i`.
    pub fn category_code(&self, i: u32) -> &'static str {
        self.category(i).code
    }

    /// All category codes.
    pub fn category_codes() -> impl Iterator<Item = &'static str> {
        CATEGORIES.iter().map(|c| c.code)
    }

    /// Product `i`, as the PIM describes it. `media_base` is prefixed to media paths.
    pub fn product(&self, i: u32, media_base: &str) -> Product {
        let seed = self.seed();
        let cat = self.category(i);
        let model = MODELS[(rnd(seed, T_PRODUCT, i as u64, 4) % MODELS.len() as u64) as usize];
        let series = 1 + i / (MODELS.len() as u32 * CATEGORIES.len() as u32);
        let material =
            &MATERIALS[(rnd(seed, T_PRODUCT, i as u64, 5) % MATERIALS.len() as u64) as usize];
        let name = |l: usize| {
            let base = format!("{model} {}", cat.names[l]);
            if series > 1 {
                format!("{base} {series}")
            } else {
                base
            }
        };
        let names: [String; 4] = std::array::from_fn(name);
        let descriptions: [String; 4] = std::array::from_fn(|l| {
            DESCRIPTION_TEMPLATES[l]
                .replace("{name}", &capitalise(&names[l]))
                .replace("{material}", material.1[l])
        });
        let pid = Self::product_id(i);
        let variants = self
            .skus(i)
            .into_iter()
            .enumerate()
            .map(|(v, sku)| {
                let colour = &COLOURS[self.colour_of(i, v as u32)];
                Variant {
                    name: text(std::array::from_fn(|l| {
                        format!("{}, {}", capitalise(&names[l]), colour.1[l])
                    })),
                    attributes: vec![Attribute {
                        code: "color".into(),
                        value: text(colour.1.map(str::to_owned)),
                    }],
                    media: vec![Media {
                        code: format!("{}.jpg", sku.as_str().to_lowercase()),
                        url: format!("{media_base}/{}.jpg", sku.as_str().to_lowercase()),
                    }],
                    sku,
                }
            })
            .collect();
        Product {
            name: text(names.map(|n| capitalise(&n))),
            description: text(descriptions),
            categories: vec![cat.code.to_owned()],
            attributes: vec![
                Attribute {
                    code: "material".into(),
                    value: text(material.1.map(str::to_owned)),
                },
                Attribute {
                    code: "collection".into(),
                    value: en_only(model),
                },
            ],
            media: vec![Media {
                code: format!("{}.jpg", pid.as_str().to_lowercase()),
                url: format!("{media_base}/{}.jpg", pid.as_str().to_lowercase()),
            }],
            variants,
            updated_at: Some(
                self.epoch()
                    + Duration::minutes((rnd(seed, T_PRODUCT, i as u64, 6) % 500_000) as i64),
            ),
            id: pid,
        }
    }

    // ----- prices --------------------------------------------------------------------------

    /// The consumer price in DKK of variant `v` of product `i`, before any reduction.
    fn base_dkk(&self, i: u32, v: u32) -> Decimal {
        let cat = self.category(i);
        let r = rnd(self.seed(), T_PRICE, i as u64, 0);
        // Between 0.6x and 1.6x the category's base, ending in 9 (or 99 kroner for big items),
        // with a small premium for later variants.
        let factor = 60 + (r % 100) as u32 + 5 * v;
        let raw = cat.base_price * factor / 100;
        let rounded = if raw >= 1000 {
            raw / 100 * 100 + 99
        } else {
            raw / 10 * 10 + 9
        };
        Decimal::from(rounded)
    }

    fn convert(dkk: Decimal, currency: Currency) -> Decimal {
        // Retail price points, not exchange-rate arithmetic: SEK and NOK round to whole crowns
        // ending in 9, EUR to .95.
        let whole = |d: Decimal| -> Decimal {
            let n = d.trunc();
            n - (n % Decimal::from(10)) + Decimal::from(9)
        };
        match currency {
            c if c == Currency::DKK => dkk,
            c if c == Currency::SEK => whole(dkk * Decimal::new(145, 2)),
            c if c == Currency::NOK => whole(dkk * Decimal::new(150, 2)),
            _ => (dkk / Decimal::from(7)).trunc() + Decimal::new(95, 2),
        }
    }

    /// Whether variant `v` of product `i` is on an online-only campaign (15 % off).
    fn online_campaign(&self, i: u32) -> bool {
        rnd(self.seed(), T_PRICE, i as u64, 1) % 5 == 0
    }

    /// The price of `sku` for a price channel, currency and customer group. B2B prices are
    /// 20 % below the consumer price and exclude VAT (25 %); online campaigns take 15 % off
    /// consumer prices online. `None` for an unknown SKU.
    pub fn price(
        &self,
        sku: &Sku,
        channel: PriceChannel,
        currency: Currency,
        group: Option<&CustomerGroup>,
    ) -> Option<Price> {
        let (i, v) = self.sku_index(sku)?;
        let regular = Self::convert(self.base_dkk(i, v), currency);
        let money = |amount: Decimal| Money::new(amount.round_dp(2), currency);
        if group.is_some_and(|g| g.as_str() == B2B_GROUP) {
            // 0.8 of the consumer price, without 25 % VAT: 0.8 / 1.25 = 0.64.
            return Some(Price {
                amount: money(regular * Decimal::new(64, 2)),
                regular: None,
                tax_included: false,
                customer_group: Some(CustomerGroup::new(B2B_GROUP)),
            });
        }
        if channel == PriceChannel::Online && self.online_campaign(i) {
            return Some(Price {
                amount: money(regular * Decimal::new(85, 2)),
                regular: Some(money(regular)),
                tax_included: true,
                customer_group: None,
            });
        }
        Some(Price {
            amount: money(regular),
            regular: None,
            tax_included: true,
            customer_group: None,
        })
    }

    // ----- stock ---------------------------------------------------------------------------

    /// Stock of `sku` at every location (a location with nothing on hand is still listed).
    pub fn stock(&self, sku: &Sku) -> Option<Vec<StockLevel>> {
        let (i, v) = self.sku_index(sku)?;
        Some(
            self.locations
                .iter()
                .enumerate()
                .map(|(l, loc)| {
                    let r = rnd(self.seed(), T_STOCK, (i as u64) << 8 | v as u64, l as u64);
                    let warehouse = loc.kind == LocationKind::Warehouse;
                    let on_hand = match r % 10 {
                        0..=2 => 0,
                        _ if warehouse => (r >> 8) % 200,
                        _ => (r >> 8) % 12,
                    } as i64;
                    let reserved = if on_hand > 0 {
                        ((r >> 20) % 3) as i64
                    } else {
                        0
                    };
                    StockLevel {
                        location: loc.id.clone(),
                        on_hand,
                        reserved: reserved.min(on_hand),
                    }
                })
                .collect(),
        )
    }

    // ----- customers -----------------------------------------------------------------------

    /// Number of customers.
    pub fn customer_count(&self) -> u32 {
        self.customers
    }

    /// The customer number of customer `i`: `C0000042`.
    pub fn customer_number(i: u32) -> CustomerNumber {
        CustomerNumber::new(format!("C{i:07}"))
    }

    /// The index of a customer number, if it names a customer of this world.
    pub fn customer_index(&self, n: &CustomerNumber) -> Option<u32> {
        let i: u32 = n.as_str().strip_prefix('C')?.parse().ok()?;
        (i < self.customers && Self::customer_number(i) == *n).then_some(i)
    }

    /// The customer whose normalised e-mail is `email`.
    pub fn customer_by_email(&self, email: &str) -> Option<u32> {
        self.by_email.get(email).copied()
    }

    /// The customer whose E.164 phone is `phone`.
    pub fn customer_by_phone(&self, phone: &str) -> Option<u32> {
        self.by_phone.get(phone).copied()
    }

    /// The customer with loyalty number `number`.
    pub fn customer_by_loyalty(&self, number: &str) -> Option<u32> {
        let i: u32 = number
            .strip_prefix("7")?
            .parse::<u32>()
            .ok()?
            .checked_sub(1_000_000)?;
        (i < self.customers && self.customer(i).loyalty_number.as_deref() == Some(number))
            .then_some(i)
    }

    fn customer_kind(&self, i: u32) -> CustomerKind {
        if rnd(self.seed(), T_CUSTOMER, i as u64, 0) % 10 == 0 {
            CustomerKind::Company
        } else {
            CustomerKind::Person
        }
    }

    /// Customer `i`, the truth.
    pub fn customer(&self, i: u32) -> WorldCustomer {
        let seed = self.seed();
        let r = |f: u64| rnd(seed, T_CUSTOMER, i as u64, f);
        let kind = self.customer_kind(i);
        let first_name = pick(&FIRST_NAMES, r(1)).to_owned();
        let last_name = pick(&LAST_NAMES, r(2)).to_owned();
        let (country, _, cc) = pick(&COUNTRIES, r(3));
        let company_name = (kind == CustomerKind::Company).then(|| {
            format!(
                "{} {} {}",
                pick(&COMPANY_WORDS, r(4)),
                pick(&COMPANY_WORDS, r(5) >> 7),
                if country == "SE" { "AB" } else { "A/S" }
            )
        });
        let email = match &company_name {
            Some(c) => format!(
                "{}.{}@{}",
                ascii_fold(&first_name),
                i,
                ascii_fold(&c.replace(' ', "")).replace('/', "") + ".example.com"
            ),
            None => format!(
                "{}.{}{}@{}",
                ascii_fold(&first_name),
                ascii_fold(&last_name),
                i,
                pick(&EMAIL_DOMAINS, r(6))
            ),
        };
        // Nine in ten have a phone; the number is unique per customer.
        let phone =
            (r(7) % 10 != 0).then(|| format!("+{cc}{}", 20_000_000 + i * 7 + (r(8) % 7) as u32));
        let member = r(9) % 10 < 6;
        let street_no = 1 + r(10) % 120;
        let address = Address {
            street: format!(
                "{} {street_no}",
                pick(
                    &[
                        "Skovvej",
                        "Storgatan",
                        "Kirkeveien",
                        "Strandvejen",
                        "Parkgatan"
                    ],
                    r(11)
                )
            ),
            postal_code: format!("{}", 1000 + r(12) % 8999),
            city: pick(
                match country {
                    "DK" => &["København", "Aarhus", "Odense", "Aalborg"][..],
                    "SE" => &["Stockholm", "Göteborg", "Malmö", "Uppsala"][..],
                    _ => &["Oslo", "Bergen", "Trondheim", "Stavanger"][..],
                },
                r(13),
            )
            .to_owned(),
            country: country.to_owned(),
        };
        let consent_time = self.epoch() + Duration::hours((r(14) % 20_000) as i64);
        WorldCustomer {
            index: i,
            number: Self::customer_number(i),
            kind,
            first_name,
            last_name,
            company_name,
            email,
            phone,
            country,
            address,
            loyalty_number: member.then(|| format!("7{}", 1_000_000 + i)),
            loyalty_tier: member.then(|| pick(&TIERS, r(15))),
            customer_group: (kind == CustomerKind::Company).then(|| CustomerGroup::new(B2B_GROUP)),
            consents: vec![
                Consent {
                    channel: ConsentChannel::Email,
                    granted: r(16) % 3 != 0,
                    updated_at: Some(consent_time),
                },
                Consent {
                    channel: ConsentChannel::Sms,
                    granted: r(17) % 3 == 0,
                    updated_at: Some(consent_time),
                },
            ],
            updated_at: self.epoch() + Duration::minutes((r(18) % 900_000) as i64),
        }
    }

    /// Where the phone number lives: 0 = in every system that has the customer, 1 = only in
    /// the marketing system, 2 = only in the CRM.
    fn phone_placement(&self, i: u32) -> u64 {
        match rnd(self.seed(), T_CUSTOMER, i as u64, 19) % 7 {
            0 => 1,
            1 => 2,
            _ => 0,
        }
    }

    /// Whether `slice` holds a record of customer `i`.
    pub fn in_slice(&self, slice: CustomerSlice, i: u32) -> bool {
        match slice {
            CustomerSlice::Crm => i < self.customers,
            CustomerSlice::Marketing => {
                i < self.customers && rnd(self.seed(), T_CUSTOMER, i as u64, 20) % 5 != 0
            }
            CustomerSlice::Erp => self.in_erp.get(i as usize).copied().unwrap_or(false),
        }
    }

    /// The customers `slice` holds, in index order.
    pub fn slice_indexes(&self, slice: CustomerSlice) -> impl Iterator<Item = u32> + '_ {
        (0..self.customers).filter(move |&i| self.in_slice(slice, i))
    }

    /// Customer `i` as `slice` stores it, or `None` if that system has no record.
    pub fn system_customer(&self, slice: CustomerSlice, i: u32) -> Option<SystemCustomer> {
        if !self.in_slice(slice, i) {
            return None;
        }
        let c = self.customer(i);
        let r = |f: u64| rnd(self.seed(), T_CUSTOMER, i as u64, f);
        let placement = self.phone_placement(i);
        let national = |p: &str| -> String {
            // "+4512345678" -> "12 34 56 78" (the way people type it in a CRM form)
            let digits = &p[3..];
            digits
                .as_bytes()
                .chunks(2)
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (email, phone, loyalty_number, loyalty_tier, customer_group, consents) = match slice {
            CustomerSlice::Crm => {
                // Some people typed their e-mail capitalised.
                let email = if r(21) % 3 == 0 {
                    capitalise_email(&c.email)
                } else {
                    c.email.clone()
                };
                let phone = c.phone.as_deref().filter(|_| placement != 1).map(|p| {
                    if r(22) % 2 == 0 {
                        national(p)
                    } else {
                        format!("{} {}", &p[..3], &p[3..])
                    }
                });
                (
                    email,
                    phone,
                    c.loyalty_number.clone(),
                    None,
                    None,
                    Vec::new(),
                )
            }
            CustomerSlice::Marketing => {
                let phone = c.phone.clone().filter(|_| placement != 2);
                (
                    c.email.clone(),
                    phone,
                    c.loyalty_number.clone(),
                    c.loyalty_tier,
                    None,
                    c.consents.clone(),
                )
            }
            CustomerSlice::Erp => {
                let email = if r(23) % 4 == 0 {
                    c.email.to_uppercase()
                } else {
                    c.email.clone()
                };
                let phone = c
                    .phone
                    .as_deref()
                    .filter(|_| placement == 0)
                    .map(|p| format!("00{}", &p[1..]));
                (
                    email,
                    phone,
                    None,
                    None,
                    c.customer_group.clone(),
                    Vec::new(),
                )
            }
        };
        Some(SystemCustomer {
            number: c.number,
            kind: c.kind,
            first_name: c.first_name,
            last_name: c.last_name,
            company_name: c.company_name,
            email,
            phone,
            address: c.address,
            loyalty_number,
            loyalty_tier,
            customer_group,
            consents,
            updated_at: c.updated_at,
        })
    }

    // ----- orders --------------------------------------------------------------------------

    /// Number of orders.
    pub fn order_count(&self) -> u32 {
        self.orders
    }

    /// The order number of order `j`: `SO0000042`.
    pub fn order_number(j: u32) -> OrderNumber {
        OrderNumber::new(format!("SO{j:07}"))
    }

    /// The index of an order number, if it names an order of this world.
    pub fn order_index(&self, n: &OrderNumber) -> Option<u32> {
        let j: u32 = n.as_str().strip_prefix("SO")?.parse().ok()?;
        (j < self.orders && Self::order_number(j) == *n).then_some(j)
    }

    fn order_customer_index(&self, j: u32) -> u32 {
        // Skewed: a third of the orders come from the most loyal tenth of customers.
        let r = rnd(self.seed(), T_ORDER, j as u64, 0);
        if r % 3 == 0 {
            ((r >> 8) % (self.customers as u64 / 10).max(1)) as u32 * 10 % self.customers
        } else {
            ((r >> 8) % self.customers as u64) as u32
        }
    }

    /// The orders of customer `i`, oldest first.
    pub fn orders_of(&self, i: u32) -> &[u32] {
        let (a, b) = (
            self.order_start[i as usize] as usize,
            self.order_start[i as usize + 1] as usize,
        );
        &self.order_index[a..b]
    }

    fn epoch(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0)
            .single()
            .expect("valid date")
    }

    /// "Now" in the world: the moment the last order was placed, plus a day.
    pub fn now(&self) -> DateTime<Utc> {
        self.order_time(self.orders.saturating_sub(1)) + Duration::days(1)
    }

    fn order_time(&self, j: u32) -> DateTime<Utc> {
        // Orders are spread evenly over two and a half years, in index order.
        let span = 900 * 24 * 3600i64;
        let at = span * j as i64 / self.orders.max(1) as i64;
        self.epoch() + Duration::seconds(at + (rnd(self.seed(), T_ORDER, j as u64, 1) % 600) as i64)
    }

    /// Order `j`, the truth.
    pub fn order(&self, j: u32) -> Order {
        let seed = self.seed();
        let r = |f: u64| rnd(seed, T_ORDER, j as u64, f);
        let ci = self.order_customer_index(j);
        let customer = self.customer(ci);
        let (_, currency, _) = COUNTRIES
            .iter()
            .find(|(c, _, _)| *c == customer.country)
            .copied()
            .unwrap_or(COUNTRIES[0]);
        let group = customer.customer_group.as_ref();
        let store_order = r(2) % 4 == 0;
        let store = store_order.then(|| {
            let stores: Vec<&Location> = self
                .locations
                .iter()
                .filter(|l| l.kind == LocationKind::Store && l.address.country == customer.country)
                .collect();
            stores[(r(3) % stores.len() as u64) as usize].id.clone()
        });
        let fulfil = store
            .clone()
            .unwrap_or_else(|| LocationId::new("WH-ONLINE"));
        let channel = if store_order {
            PriceChannel::Store
        } else {
            PriceChannel::Online
        };
        let n_lines = 1 + (r(4) % 4) as u32;
        let mut lines = Vec::with_capacity(n_lines as usize);
        for l in 0..n_lines {
            let lr = |f: u64| rnd(seed, T_LINE, (j as u64) << 3 | l as u64, f);
            let pi = (lr(0) % self.products as u64) as u32;
            let skus = self.skus(pi);
            let sku = skus[(lr(1) % skus.len() as u64) as usize].clone();
            let qty = Decimal::from(1 + lr(2) % 3 * (lr(3) % 2));
            let price = self
                .price(&sku, channel, currency, group)
                .expect("world SKUs have prices");
            let names = self
                .product(pi, "")
                .variants
                .into_iter()
                .find(|v| v.sku == sku)
                .map(|v| v.name);
            lines.push(OrderLine {
                line_no: (l + 1) * 10_000,
                description: names
                    .and_then(|n| n.get(&Locale::en_gb()).map(str::to_owned))
                    .unwrap_or_default(),
                quantity: qty,
                unit_price: price.amount,
                line_total: Money::new(price.amount.amount * qty, currency),
                location: Some(fulfil.clone()),
                sku,
            });
        }
        let total = Money::new(lines.iter().map(|l| l.line_total.amount).sum(), currency);
        let placed_at = self.order_time(j);
        let age = self.now() - placed_at;
        let status = if r(5) % 50 == 0 {
            OrderStatus::Cancelled
        } else if age < Duration::days(2) || store_order && age < Duration::days(1) {
            OrderStatus::Open
        } else if age < Duration::days(5) && r(6) % 2 == 0 {
            OrderStatus::PartiallyShipped
        } else {
            OrderStatus::Shipped
        };
        let shipments = match status {
            OrderStatus::Shipped | OrderStatus::PartiallyShipped => {
                let (carrier, url) = pick(&CARRIERS, r(7));
                let tracking = format!(
                    "{}{:010}",
                    &carrier[..2].to_uppercase(),
                    r(8) % 10_000_000_000
                );
                vec![Shipment {
                    number: format!("SH{j:07}"),
                    carrier: carrier.to_owned(),
                    tracking_url: format!("{url}{tracking}"),
                    tracking_number: tracking,
                    shipped_at: placed_at + Duration::hours(20 + (r(9) % 30) as i64),
                }]
            }
            _ => Vec::new(),
        };
        Order {
            number: Self::order_number(j),
            customer: customer.number,
            placed_at,
            status,
            channel: Some(if store_order {
                samlet_connector::Channel::Store
            } else {
                samlet_connector::Channel::Web
            }),
            store,
            currency,
            lines,
            shipments,
            total,
        }
    }
}

fn capitalise_email(email: &str) -> String {
    // "anna.hansen3@example.dk" -> "Anna.Hansen3@example.dk"
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let local: Vec<String> = local.split('.').map(capitalise).collect();
    format!("{}@{domain}", local.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samlet_connector::model::{normalize_email, normalize_phone};

    fn world() -> World {
        World::new(WorldConfig::default())
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let (a, b) = (world(), world());
        for i in [0, 7, 1999] {
            assert_eq!(a.product(i, ""), b.product(i, ""));
        }
        assert_eq!(a.customer(123), b.customer(123));
        assert_eq!(a.order(4567), b.order(4567));
        let c = World::new(WorldConfig { seed: 7, scale: 1 });
        assert_ne!(a.customer(123), c.customer(123));
    }

    #[test]
    fn scale_one_has_the_promised_sizes() {
        let w = world();
        assert!(w.locations().len() >= 10);
        assert_eq!(w.product_count(), 2_000);
        assert_eq!(w.customer_count(), 10_000);
        assert_eq!(w.order_count(), 50_000);
        let orders: usize = (0..w.customer_count()).map(|i| w.orders_of(i).len()).sum();
        assert_eq!(orders, 50_000);
    }

    #[test]
    fn customer_keys_are_unique_and_resolve_back() {
        let w = world();
        for i in (0..w.customer_count()).step_by(37) {
            let c = w.customer(i);
            assert_eq!(w.customer_by_email(&c.email), Some(i));
            if let Some(p) = &c.phone {
                assert_eq!(w.customer_by_phone(p), Some(i));
            }
            if let Some(l) = &c.loyalty_number {
                assert_eq!(w.customer_by_loyalty(l), Some(i));
            }
            assert_eq!(w.customer_index(&c.number), Some(i));
        }
    }

    #[test]
    fn system_records_overlap_but_differ_and_normalise_to_the_truth() {
        let w = world();
        let mut differing_case = 0;
        let mut phone_only_in_marketing = 0;
        for i in 0..2_000 {
            let c = w.customer(i);
            for slice in CustomerSlice::ALL {
                if let Some(r) = w.system_customer(slice, i) {
                    assert_eq!(normalize_email(&r.email).as_deref(), Some(c.email.as_str()));
                    if r.email != c.email {
                        differing_case += 1;
                    }
                    if let Some(p) = &r.phone {
                        assert_eq!(normalize_phone(p, c.country), c.phone, "{slice:?} {p}");
                    }
                }
            }
            let crm = w.system_customer(CustomerSlice::Crm, i).unwrap();
            if let Some(m) = w.system_customer(CustomerSlice::Marketing, i) {
                if m.phone.is_some() && crm.phone.is_none() {
                    phone_only_in_marketing += 1;
                }
            }
        }
        assert!(differing_case > 100, "{differing_case}");
        assert!(phone_only_in_marketing > 50, "{phone_only_in_marketing}");
        let erp = (0..2_000)
            .filter(|&i| w.in_slice(CustomerSlice::Erp, i))
            .count();
        let mkt = (0..2_000)
            .filter(|&i| w.in_slice(CustomerSlice::Marketing, i))
            .count();
        assert!(
            (1_000..2_000).contains(&erp) && (1_400..1_800).contains(&mkt),
            "{erp} {mkt}"
        );
    }

    #[test]
    fn prices_are_exact_and_exist_for_every_context() {
        let w = world();
        let b2b = CustomerGroup::new(B2B_GROUP);
        for i in (0..w.product_count()).step_by(101) {
            for sku in w.skus(i) {
                for cur in CURRENCIES {
                    for ch in [PriceChannel::Online, PriceChannel::Store] {
                        let p = w.price(&sku, ch, cur, None).unwrap();
                        assert!(p.amount.amount > Decimal::ZERO && p.amount.amount.scale() <= 2);
                        let b = w.price(&sku, ch, cur, Some(&b2b)).unwrap();
                        assert!(b.amount.amount < p.amount.amount && !b.tax_included);
                    }
                }
            }
        }
        assert!(w
            .price(
                &Sku::new("P999999-OAK"),
                PriceChannel::Online,
                Currency::DKK,
                None
            )
            .is_none());
    }

    #[test]
    fn orders_have_lines_totals_and_tracking() {
        let w = world();
        let mut shipped = 0;
        for j in (0..w.order_count()).step_by(97) {
            let o = w.order(j);
            assert!(!o.lines.is_empty());
            assert_eq!(
                o.total.amount,
                o.lines.iter().map(|l| l.line_total.amount).sum::<Decimal>()
            );
            if o.status == OrderStatus::Shipped {
                shipped += 1;
                assert!(o.shipments[0]
                    .tracking_url
                    .ends_with(&o.shipments[0].tracking_number));
            }
            let ci = w.customer_index(&o.customer).unwrap();
            assert!(w.orders_of(ci).contains(&j));
        }
        assert!(shipped > 100);
    }

    #[test]
    fn a_small_world_keeps_its_entities_consistent() {
        let w = World::with_sizes(WorldConfig::default(), 40, 200, 1_000);
        assert_eq!(
            (w.product_count(), w.customer_count(), w.order_count()),
            (40, 200, 1_000)
        );
        let orders: usize = (0..w.customer_count()).map(|i| w.orders_of(i).len()).sum();
        assert_eq!(orders, 1_000);
        for j in 0..w.order_count() {
            for line in w.order(j).lines {
                assert!(
                    w.sku_index(&line.sku).is_some(),
                    "order lines name the small world's SKUs"
                );
            }
        }
    }

    #[test]
    fn scale_ten_opens_quickly_enough_for_benchmarks() {
        let w = World::new(WorldConfig { seed: 1, scale: 10 });
        assert_eq!(w.customer_count(), 100_000);
        assert_eq!(w.order(499_999).number.as_str(), "SO0499999");
    }
}
