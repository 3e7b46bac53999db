//! The instance's data, computed from the world on demand: the entity sets the simulator
//! serves, their columns and navigation properties, deterministic GUIDs, and index lookups that
//! turn a pinned filter value back into rows without scanning.
//!
//! - `Contact`: one per customer: the person, or a company's contact person (who carries no
//!   customer number, phone or loyalty number; `AccountId` names the company).
//! - `Account`: one per company, with the keys, the phone as typed and `PrimaryContactId`.
//! - `ContactAddress` / `AccountAddress`: the primary address of each person / company; every
//!   fourth person also has a non-primary delivery address, listed first.
//! - `Country`, `City`, `AddressType`: the lookups those rows point at.

use super::odata::{ExpandItem, ODataError};
use super::Sim;
use samlet_connector::ids::CustomerNumber;
use samlet_connector::model::{normalize_phone, CustomerKind};
use samlet_testkit::world::{CustomerSlice, SystemCustomer};
use serde_json::{Map, Value};

/// Creatio's empty lookup value.
pub(crate) const EMPTY_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// The custom columns of the simulated instance (the connector's defaults).
pub(crate) const CUSTOMER_NUMBER: &str = "UsrCustomerNumber";
pub(crate) const LOYALTY_NUMBER: &str = "UsrLoyaltyNumber";
pub(crate) const PHONE_E164: &str = "UsrPhoneE164";

/// The entity sets served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Set {
    Contact,
    Account,
    ContactAddress,
    AccountAddress,
    Country,
    City,
    AddressType,
}

/// A navigation property: its name, target and whether it is a collection.
pub(crate) struct Nav {
    pub name: &'static str,
    pub target: Set,
    pub many: bool,
}

const fn one(name: &'static str, target: Set) -> Nav {
    Nav {
        name,
        target,
        many: false,
    }
}

const fn many(name: &'static str, target: Set) -> Nav {
    Nav {
        name,
        target,
        many: true,
    }
}

const CONTACT_COLUMNS: &[&str] = &[
    "Id",
    "Name",
    "GivenName",
    "Surname",
    "Email",
    "MobilePhone",
    "Phone",
    "AccountId",
    "Address",
    "Zip",
    "CityId",
    "CountryId",
    CUSTOMER_NUMBER,
    LOYALTY_NUMBER,
    PHONE_E164,
    "CreatedOn",
    "ModifiedOn",
];
const ACCOUNT_COLUMNS: &[&str] = &[
    "Id",
    "Name",
    "Phone",
    "PrimaryContactId",
    "Address",
    "Zip",
    "CityId",
    "CountryId",
    CUSTOMER_NUMBER,
    LOYALTY_NUMBER,
    PHONE_E164,
    "CreatedOn",
    "ModifiedOn",
];
const CONTACT_ADDRESS_COLUMNS: &[&str] = &[
    "Id",
    "ContactId",
    "AddressTypeId",
    "Primary",
    "Address",
    "Zip",
    "CityId",
    "CountryId",
    "CreatedOn",
    "ModifiedOn",
];
const ACCOUNT_ADDRESS_COLUMNS: &[&str] = &[
    "Id",
    "AccountId",
    "AddressTypeId",
    "Primary",
    "Address",
    "Zip",
    "CityId",
    "CountryId",
    "CreatedOn",
    "ModifiedOn",
];
const COUNTRY_COLUMNS: &[&str] = &["Id", "Name", "Code"];
const CITY_COLUMNS: &[&str] = &["Id", "Name", "CountryId"];
const ADDRESS_TYPE_COLUMNS: &[&str] = &["Id", "Name"];

const CONTACT_NAVS: &[Nav] = &[
    one("Account", Set::Account),
    one("City", Set::City),
    one("Country", Set::Country),
    many("ContactAddressCollectionByContact", Set::ContactAddress),
];
const ACCOUNT_NAVS: &[Nav] = &[
    one("PrimaryContact", Set::Contact),
    one("City", Set::City),
    one("Country", Set::Country),
    many("AccountAddressCollectionByAccount", Set::AccountAddress),
    many("ContactCollectionByAccount", Set::Contact),
];
const CONTACT_ADDRESS_NAVS: &[Nav] = &[
    one("Contact", Set::Contact),
    one("AddressType", Set::AddressType),
    one("City", Set::City),
    one("Country", Set::Country),
];
const ACCOUNT_ADDRESS_NAVS: &[Nav] = &[
    one("Account", Set::Account),
    one("AddressType", Set::AddressType),
    one("City", Set::City),
    one("Country", Set::Country),
];
const CITY_NAVS: &[Nav] = &[one("Country", Set::Country)];

/// `(ISO code, name)` of the countries in the `Country` lookup.
const COUNTRIES: [(&str, &str); 6] = [
    ("DK", "Denmark"),
    ("SE", "Sweden"),
    ("NO", "Norway"),
    ("FI", "Finland"),
    ("DE", "Germany"),
    ("GB", "United Kingdom"),
];

/// `(name, country)` of the cities in the `City` lookup.
const CITIES: [(&str, &str); 12] = [
    ("København", "DK"),
    ("Aarhus", "DK"),
    ("Odense", "DK"),
    ("Aalborg", "DK"),
    ("Stockholm", "SE"),
    ("Göteborg", "SE"),
    ("Malmö", "SE"),
    ("Uppsala", "SE"),
    ("Oslo", "NO"),
    ("Bergen", "NO"),
    ("Trondheim", "NO"),
    ("Stavanger", "NO"),
];

/// The `AddressType` lookup.
const ADDRESS_TYPES: [&str; 4] = ["Home", "Business", "Delivery", "Legal"];
const HOME: u32 = 0;
const DELIVERY: u32 = 2;
const LEGAL: u32 = 3;

impl Set {
    pub(crate) const ALL: [Set; 7] = [
        Set::Contact,
        Set::Account,
        Set::ContactAddress,
        Set::AccountAddress,
        Set::Country,
        Set::City,
        Set::AddressType,
    ];

    pub(crate) fn parse(name: &str) -> Option<Set> {
        Set::ALL.into_iter().find(|s| s.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Set::Contact => "Contact",
            Set::Account => "Account",
            Set::ContactAddress => "ContactAddress",
            Set::AccountAddress => "AccountAddress",
            Set::Country => "Country",
            Set::City => "City",
            Set::AddressType => "AddressType",
        }
    }

    fn tag(self) -> u32 {
        match self {
            Set::Contact => 0xc0c7,
            Set::Account => 0xacc7,
            Set::ContactAddress => 0xc0ad,
            Set::AccountAddress => 0xacad,
            Set::Country => 0xc047,
            Set::City => 0xc171,
            Set::AddressType => 0xad77,
        }
    }

    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Set::Contact => CONTACT_COLUMNS,
            Set::Account => ACCOUNT_COLUMNS,
            Set::ContactAddress => CONTACT_ADDRESS_COLUMNS,
            Set::AccountAddress => ACCOUNT_ADDRESS_COLUMNS,
            Set::Country => COUNTRY_COLUMNS,
            Set::City => CITY_COLUMNS,
            Set::AddressType => ADDRESS_TYPE_COLUMNS,
        }
    }

    pub(crate) fn navs(self) -> &'static [Nav] {
        match self {
            Set::Contact => CONTACT_NAVS,
            Set::Account => ACCOUNT_NAVS,
            Set::ContactAddress => CONTACT_ADDRESS_NAVS,
            Set::AccountAddress => ACCOUNT_ADDRESS_NAVS,
            Set::City => CITY_NAVS,
            Set::Country | Set::AddressType => &[],
        }
    }

    fn nav(self, name: &str) -> Option<&'static Nav> {
        self.navs().iter().find(|n| n.name == name)
    }

    fn unknown_property(self, name: &str) -> ODataError {
        ODataError::invalid_query(format!(
            "Could not find a property named '{name}' on type 'Terrasoft.Configuration.OData.{}'.",
            self.name()
        ))
    }

    /// Checks a property path of a filter or an order: single-valued navigations, then a
    /// column.
    pub(crate) fn check_path(self, path: &[String]) -> Result<(), ODataError> {
        let Some((last, navs)) = path.split_last() else {
            return Err(ODataError::invalid_query("An empty property path."));
        };
        let mut set = self;
        for seg in navs {
            match set.nav(seg) {
                Some(n) if !n.many => set = n.target,
                Some(_) => {
                    return Err(ODataError::not_simulated(format!(
                        "Filtering through the collection '{seg}'"
                    )))
                }
                None => return Err(set.unknown_property(seg)),
            }
        }
        if set.columns().contains(&last.as_str()) {
            Ok(())
        } else {
            Err(set.unknown_property(last))
        }
    }

    /// Checks a `$select` list and an `$expand` tree.
    pub(crate) fn check_shape(
        self,
        select: Option<&[String]>,
        expand: &[ExpandItem],
    ) -> Result<(), ODataError> {
        for s in select.unwrap_or_default() {
            if s != "*" && !self.columns().contains(&s.as_str()) && self.nav(s).is_none() {
                return Err(self.unknown_property(s));
            }
        }
        for item in expand {
            let nav = self
                .nav(&item.name)
                .ok_or_else(|| self.unknown_property(&item.name))?;
            nav.target
                .check_shape(item.select.as_deref(), &item.expand)?;
        }
        Ok(())
    }
}

/// One row of an entity set: the set and the indexes it is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Rec {
    pub set: Set,
    /// The customer index (or the lookup's index).
    pub a: u32,
    /// Which of the customer's rows (addresses).
    pub b: u32,
}

/// What a navigation property leads to.
pub(crate) enum Target {
    One(Option<Rec>),
    Many(Vec<Rec>),
}

/// The GUID of a row; lexical order follows `(a, b)` within a set, so `$orderby=Id` is the
/// world's order.
pub(crate) fn guid(rec: Rec) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8000-5a11e7c0ffee",
        rec.a,
        rec.set.tag(),
        rec.b & 0xfff
    )
}

/// The row a GUID names, in any letter case.
pub(crate) fn parse_guid(s: &str) -> Option<Rec> {
    let s = s.to_ascii_lowercase();
    let parts: Vec<&str> = s.split('-').collect();
    let [a, tag, b, "8000", "5a11e7c0ffee"] = parts.as_slice() else {
        return None;
    };
    let a = u32::from_str_radix(a, 16).ok().filter(|_| a.len() == 8)?;
    let tag = u32::from_str_radix(tag, 16)
        .ok()
        .filter(|_| tag.len() == 4)?;
    let b = u32::from_str_radix(b.strip_prefix('4')?, 16)
        .ok()
        .filter(|_| b.len() == 4)?;
    let set = Set::ALL.into_iter().find(|s| s.tag() == tag)?;
    Some(Rec { set, a, b })
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn lookup_id(rec: Option<Rec>) -> Value {
    Value::String(rec.map_or_else(|| EMPTY_GUID.to_owned(), guid))
}

fn datetime(t: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn country_rec(code: &str) -> Option<Rec> {
    COUNTRIES
        .iter()
        .position(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|k| Rec {
            set: Set::Country,
            a: k as u32,
            b: 0,
        })
}

fn city_rec(name: &str) -> Option<Rec> {
    CITIES.iter().position(|(c, _)| *c == name).map(|k| Rec {
        set: Set::City,
        a: k as u32,
        b: 0,
    })
}

/// One customer as the instance holds it.
struct Held {
    i: u32,
    c: SystemCustomer,
}

impl Held {
    fn get(sim: &Sim, i: u32) -> Option<Held> {
        sim.world
            .system_customer(CustomerSlice::Crm, i)
            .map(|c| Held { i, c })
    }

    fn is_company(&self) -> bool {
        self.c.kind == CustomerKind::Company
    }

    fn e164(&self) -> Option<String> {
        self.c
            .phone
            .as_deref()
            .and_then(|p| normalize_phone(p, &self.c.address.country))
    }

    /// Whether this person has a delivery address besides the primary one.
    fn has_delivery(&self) -> bool {
        !self.is_company() && self.i % 4 == 1
    }

    fn rec(&self, set: Set, b: u32) -> Rec {
        Rec { set, a: self.i, b }
    }

    fn addresses(&self, set: Set) -> Vec<Rec> {
        let primary = self.rec(set, 0);
        match set {
            Set::ContactAddress if self.is_company() => Vec::new(),
            Set::ContactAddress if self.has_delivery() => vec![self.rec(set, 1), primary],
            _ => vec![primary],
        }
    }

    /// Address, zip, city and country of the primary (`b == 0`) or delivery address.
    fn address_columns(&self, m: &mut Map<String, Value>, b: u32) {
        let a = &self.c.address;
        let (street, zip) = if b == 0 {
            (a.street.clone(), a.postal_code.clone())
        } else {
            (
                format!("Pakkeboks {}", 100 + self.i % 800),
                "9999".to_owned(),
            )
        };
        m.insert("Address".into(), text(&street));
        m.insert("Zip".into(), text(&zip));
        m.insert("CityId".into(), lookup_id(city_rec(&a.city)));
        m.insert("CountryId".into(), lookup_id(country_rec(&a.country)));
    }

    fn stamps(&self, m: &mut Map<String, Value>) {
        m.insert(
            "CreatedOn".into(),
            datetime(self.c.updated_at - chrono::Duration::days(400)),
        );
        m.insert("ModifiedOn".into(), datetime(self.c.updated_at));
    }

    fn columns(&self, rec: Rec) -> Option<Map<String, Value>> {
        let c = &self.c;
        let company = self.is_company();
        let mut m = Map::new();
        m.insert("Id".into(), Value::String(guid(rec)));
        match rec.set {
            Set::Contact => {
                // A company's contact person carries none of the company's keys.
                let keys = !company;
                let blank = |v: Option<&str>| text(v.filter(|_| keys).unwrap_or_default());
                m.insert(
                    "Name".into(),
                    Value::String(format!("{} {}", c.first_name, c.last_name)),
                );
                m.insert("GivenName".into(), text(&c.first_name));
                m.insert("Surname".into(), text(&c.last_name));
                m.insert("Email".into(), text(&c.email));
                m.insert("MobilePhone".into(), blank(c.phone.as_deref()));
                m.insert("Phone".into(), text(""));
                m.insert(
                    "AccountId".into(),
                    lookup_id(company.then(|| self.rec(Set::Account, 0))),
                );
                self.address_columns(&mut m, 0);
                m.insert(CUSTOMER_NUMBER.into(), blank(Some(c.number.as_str())));
                m.insert(LOYALTY_NUMBER.into(), blank(c.loyalty_number.as_deref()));
                m.insert(PHONE_E164.into(), blank(self.e164().as_deref()));
            }
            Set::Account => {
                if !company {
                    return None;
                }
                m.insert(
                    "Name".into(),
                    text(c.company_name.as_deref().unwrap_or_default()),
                );
                m.insert("Phone".into(), text(c.phone.as_deref().unwrap_or_default()));
                m.insert(
                    "PrimaryContactId".into(),
                    Value::String(guid(self.rec(Set::Contact, 0))),
                );
                self.address_columns(&mut m, 0);
                m.insert(CUSTOMER_NUMBER.into(), text(c.number.as_str()));
                m.insert(
                    LOYALTY_NUMBER.into(),
                    text(c.loyalty_number.as_deref().unwrap_or_default()),
                );
                m.insert(
                    PHONE_E164.into(),
                    text(self.e164().as_deref().unwrap_or_default()),
                );
            }
            Set::ContactAddress | Set::AccountAddress => {
                if !self.addresses(rec.set).contains(&rec) {
                    return None;
                }
                let (owner, kind) = match rec.set {
                    Set::ContactAddress => ("ContactId", Set::Contact),
                    _ => ("AccountId", Set::Account),
                };
                m.insert(owner.into(), Value::String(guid(self.rec(kind, 0))));
                let address_type = match (rec.set, rec.b) {
                    (_, 1) => DELIVERY,
                    (Set::AccountAddress, _) => LEGAL,
                    _ => HOME,
                };
                m.insert(
                    "AddressTypeId".into(),
                    Value::String(guid(Rec {
                        set: Set::AddressType,
                        a: address_type,
                        b: 0,
                    })),
                );
                m.insert("Primary".into(), Value::Bool(rec.b == 0));
                self.address_columns(&mut m, rec.b);
            }
            Set::Country | Set::City | Set::AddressType => return None,
        }
        self.stamps(&mut m);
        Some(m)
    }
}

impl Rec {
    /// The row's columns, or `None` if the instance has no such row.
    pub(crate) fn columns(self, sim: &Sim) -> Option<Map<String, Value>> {
        let lookup_row = |pairs: &[(&str, Value)]| {
            let mut m = Map::new();
            m.insert("Id".into(), Value::String(guid(self)));
            for (k, v) in pairs {
                m.insert((*k).into(), v.clone());
            }
            Some(m)
        };
        let k = self.a as usize;
        match self.set {
            Set::Country => {
                let (code, name) = COUNTRIES.get(k).filter(|_| self.b == 0)?;
                lookup_row(&[("Name", text(name)), ("Code", text(code))])
            }
            Set::City => {
                let (name, country) = CITIES.get(k).filter(|_| self.b == 0)?;
                lookup_row(&[
                    ("Name", text(name)),
                    ("CountryId", lookup_id(country_rec(country))),
                ])
            }
            Set::AddressType => {
                let name = ADDRESS_TYPES.get(k).filter(|_| self.b == 0)?;
                lookup_row(&[("Name", text(name))])
            }
            _ => {
                if matches!(self.set, Set::Contact | Set::Account) && self.b != 0 {
                    return None;
                }
                Held::get(sim, self.a)?.columns(self)
            }
        }
    }

    /// Where navigation property `name` leads (the name was checked against the set).
    pub(crate) fn follow(self, sim: &Sim, row: &Map<String, Value>, name: &str) -> Target {
        let by_id = |column: &str| {
            let id = row
                .get(column)
                .and_then(Value::as_str)
                .unwrap_or(EMPTY_GUID);
            Target::One(parse_guid(id))
        };
        match (self.set, name) {
            (_, "City") => by_id("CityId"),
            (_, "Country") => by_id("CountryId"),
            (_, "AddressType") => by_id("AddressTypeId"),
            (_, "Account") => by_id("AccountId"),
            (_, "Contact") => by_id("ContactId"),
            (Set::Account, "PrimaryContact") => by_id("PrimaryContactId"),
            (Set::Account, "ContactCollectionByAccount") => Target::Many(vec![Rec {
                set: Set::Contact,
                a: self.a,
                b: 0,
            }]),
            (Set::Contact, "ContactAddressCollectionByContact") => Target::Many(
                Held::get(sim, self.a)
                    .map(|h| h.addresses(Set::ContactAddress))
                    .unwrap_or_default(),
            ),
            (Set::Account, "AccountAddressCollectionByAccount") => Target::Many(
                Held::get(sim, self.a)
                    .map(|h| h.addresses(Set::AccountAddress))
                    .unwrap_or_default(),
            ),
            _ => Target::One(None),
        }
    }

    /// The value at a checked property path (`PrimaryContact/Email`); null through an empty
    /// lookup.
    pub(crate) fn value_at(self, sim: &Sim, row: &Map<String, Value>, path: &[String]) -> Value {
        match path {
            [] => Value::Null,
            [column] => row.get(column).cloned().unwrap_or(Value::Null),
            [nav, rest @ ..] => match self.follow(sim, row, nav) {
                Target::One(Some(next)) => match next.columns(sim) {
                    Some(r) => next.value_at(sim, &r, rest),
                    None => Value::Null,
                },
                _ => Value::Null,
            },
        }
    }

    /// The row as JSON with `$select` and `$expand` applied.
    pub(crate) fn render(
        self,
        sim: &Sim,
        row: Map<String, Value>,
        select: Option<&[String]>,
        expand: &[ExpandItem],
    ) -> Value {
        let mut out = match select {
            Some(fields) if !fields.iter().any(|f| f == "*") => {
                let mut m = Map::new();
                for f in fields {
                    if let Some(v) = row.get(f) {
                        m.insert(f.clone(), v.clone());
                    }
                }
                m
            }
            _ => row.clone(),
        };
        for item in expand {
            let value = match self.follow(sim, &row, &item.name) {
                Target::One(next) => next
                    .and_then(|r| r.columns(sim).map(|cols| (r, cols)))
                    .map_or(Value::Null, |(r, cols)| {
                        r.render(sim, cols, item.select.as_deref(), &item.expand)
                    }),
                Target::Many(list) => Value::Array(
                    list.into_iter()
                        .filter_map(|r| r.columns(sim).map(|cols| (r, cols)))
                        .map(|(r, cols)| r.render(sim, cols, item.select.as_deref(), &item.expand))
                        .collect(),
                ),
            };
            out.insert(item.name.clone(), value);
        }
        Value::Object(out)
    }
}

/// The rows of `set` whose `path` may equal `value`, found through the world's indexes;
/// `None` if the simulator keeps no index for that path (the set is scanned instead). The
/// caller still evaluates the whole filter on each row, so collation rules hold.
pub(crate) fn lookup(sim: &Sim, set: Set, path: &str, value: &str) -> Option<Vec<Rec>> {
    let w = &sim.world;
    let customer =
        |i: Option<u32>| -> Vec<Rec> { i.map(|a| Rec { set, a, b: 0 }).into_iter().collect() };
    let found = match (set, path) {
        (_, "Id") => parse_guid(value)
            .filter(|r| r.set == set)
            .into_iter()
            .collect(),
        (Set::Contact | Set::Account, CUSTOMER_NUMBER) => {
            customer(w.customer_index(&CustomerNumber::new(value.trim().to_uppercase())))
        }
        (Set::Contact | Set::Account, LOYALTY_NUMBER) => {
            customer(w.customer_by_loyalty(value.trim()))
        }
        (Set::Contact | Set::Account, PHONE_E164) => customer(w.customer_by_phone(value.trim())),
        (Set::Contact, "Email") | (Set::Account, "PrimaryContact/Email") => {
            customer(w.customer_by_email(&value.trim().to_lowercase()))
        }
        (Set::Contact, "AccountId") => parse_guid(value)
            .filter(|r| r.set == Set::Account)
            .map(|r| Rec { set, a: r.a, b: 0 })
            .into_iter()
            .collect(),
        (Set::Account, "PrimaryContactId") => parse_guid(value)
            .filter(|r| r.set == Set::Contact)
            .map(|r| Rec { set, a: r.a, b: 0 })
            .into_iter()
            .collect(),
        _ => return None,
    };
    Some(found)
}

/// Every row of `set`, in `Id` order.
pub(crate) fn scan(sim: &Sim, set: Set) -> Vec<Rec> {
    let n = sim.world.customer_count();
    let rec = |a: u32, b: u32| Rec { set, a, b };
    match set {
        Set::Contact => (0..n).map(|a| rec(a, 0)).collect(),
        Set::Account | Set::AccountAddress => sim.companies().iter().map(|&a| rec(a, 0)).collect(),
        Set::ContactAddress => (0..n)
            .flat_map(|a| {
                let company = sim.companies().binary_search(&a).is_ok();
                let delivery = !company && a % 4 == 1;
                let rows = if company {
                    0
                } else if delivery {
                    2
                } else {
                    1
                };
                (0..rows).map(move |b| rec(a, b))
            })
            .collect(),
        Set::Country => (0..COUNTRIES.len() as u32).map(|a| rec(a, 0)).collect(),
        Set::City => (0..CITIES.len() as u32).map(|a| rec(a, 0)).collect(),
        Set::AddressType => (0..ADDRESS_TYPES.len() as u32).map(|a| rec(a, 0)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_round_trip_and_sort_in_world_order() {
        let r = Rec {
            set: Set::ContactAddress,
            a: 42,
            b: 1,
        };
        let g = guid(r);
        assert_eq!(g.len(), 36);
        assert_eq!(parse_guid(&g), Some(r));
        assert_eq!(parse_guid(&g.to_uppercase()), Some(r));
        let first = guid(Rec {
            set: Set::Contact,
            a: 9,
            b: 0,
        });
        let second = guid(Rec {
            set: Set::Contact,
            a: 10,
            b: 0,
        });
        assert!(first < second);
        assert_eq!(parse_guid(EMPTY_GUID), None);
        assert_eq!(parse_guid("not-a-guid"), None);
    }

    #[test]
    fn paths_are_checked_through_single_valued_navigations() {
        let path = |s: &str| s.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert!(Set::Account
            .check_path(&path("PrimaryContact/Email"))
            .is_ok());
        assert!(Set::Contact
            .check_path(&path("Account/PrimaryContact/Email"))
            .is_ok());
        let err = Set::Contact.check_path(&path("UsrShoeSize")).unwrap_err();
        assert!(err.message.contains("UsrShoeSize"));
        assert!(Set::Contact
            .check_path(&path("ContactAddressCollectionByContact/Zip"))
            .is_err());
    }
}
