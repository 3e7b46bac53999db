//! The request context every capability call carries: who asks, through which channel, for which
//! store, in which language and currency. Anything that can change an answer lives here, so that
//! caches can key on it and connectors can select the right values.

use crate::ids::{CustomerGroup, CustomerNumber, LocationId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The touchpoint a request comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The web shop.
    #[default]
    Web,
    /// The mobile app.
    App,
    /// A sales associate's device in a store (tablet).
    Store,
    /// A self-service kiosk in a store.
    Kiosk,
    /// The till.
    Pos,
    /// A link followed from an e-mail.
    Email,
}

impl Channel {
    /// Every channel, in a stable order.
    pub const ALL: [Channel; 6] = [
        Channel::Web,
        Channel::App,
        Channel::Store,
        Channel::Kiosk,
        Channel::Pos,
        Channel::Email,
    ];

    /// The lower-case name used in configuration, headers and vendor scopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Store => "store",
            Channel::Kiosk => "kiosk",
            Channel::Pos => "pos",
            Channel::Email => "email",
        }
    }

    /// Price lists are kept per sales channel family: online (web, app, e-mail) or in-store
    /// (store, kiosk, POS). Retailers rarely price a kiosk differently from the till.
    pub fn price_channel(self) -> PriceChannel {
        match self {
            Channel::Web | Channel::App | Channel::Email => PriceChannel::Online,
            Channel::Store | Channel::Kiosk | Channel::Pos => PriceChannel::Store,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown channel `{s}`: expected one of web, app, store, kiosk, pos, email")
            })
    }
}

/// The price list family a channel buys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PriceChannel {
    /// Web, app and e-mail.
    Online,
    /// Store, kiosk and POS.
    Store,
}

impl PriceChannel {
    /// The lower-case code vendors store.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceChannel::Online => "online",
            PriceChannel::Store => "store",
        }
    }
}

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Danish krone.
    pub const DKK: Currency = Currency(*b"DKK");
    /// Swedish krona.
    pub const SEK: Currency = Currency(*b"SEK");
    /// Norwegian krone.
    pub const NOK: Currency = Currency(*b"NOK");
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");

    /// The code, e.g. `DKK`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_alphabetic) {
            Ok(Currency([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            Err(format!(
                "`{s}` is not an ISO 4217 currency code (three letters, e.g. DKK)"
            ))
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl schemars::JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z]{3}$",
            "description": "An ISO 4217 currency code, e.g. `DKK`.",
        })
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A BCP 47 locale in `ll-CC` form, e.g. `da-DK`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    /// Danish (Denmark).
    pub fn da_dk() -> Locale {
        Locale("da-DK".into())
    }
    /// English (United Kingdom), the fallback language.
    pub fn en_gb() -> Locale {
        Locale("en-GB".into())
    }
    /// The tag, e.g. `da-DK`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The tag with an underscore, as Akeneo and Business Central write it: `da_DK`.
    pub fn underscored(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl FromStr for Locale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Parsed for every localised value a vendor sends, so built without formatting.
        match *s.as_bytes() {
            [l1, l2, b'-' | b'_', c1, c2]
                if [l1, l2, c1, c2].iter().all(u8::is_ascii_alphabetic) =>
            {
                let mut out = String::with_capacity(5);
                out.extend([
                    char::from(l1.to_ascii_lowercase()),
                    char::from(l2.to_ascii_lowercase()),
                    '-',
                    char::from(c1.to_ascii_uppercase()),
                    char::from(c2.to_ascii_uppercase()),
                ]);
                Ok(Locale(out))
            }
            _ => Err(format!(
                "`{s}` is not a locale of the form ll-CC (e.g. da-DK)"
            )),
        }
    }
}

impl TryFrom<String> for Locale {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Locale> for String {
    fn from(l: Locale) -> String {
        l.0
    }
}

impl schemars::JsonSchema for Locale {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Locale".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z]{2}[-_][A-Za-z]{2}$",
            "description": "A locale of the form ll-CC, e.g. `da-DK`.",
        })
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Caller {
    /// No identity: catalogue only.
    #[default]
    Anonymous,
    /// A signed-in customer.
    Customer(CustomerNumber),
    /// A store associate acting in their store.
    StoreAssociate {
        /// The associate's staff id.
        staff_id: String,
        /// The store they work in.
        store: LocationId,
    },
    /// A back-office integration.
    Service(String),
}

/// The context of one request, passed to every capability call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestContext {
    /// The touchpoint.
    pub channel: Channel,
    /// The store the request is made in or for, if any.
    pub store: Option<LocationId>,
    /// The language texts are wanted in.
    pub locale: Locale,
    /// The currency prices are wanted in.
    pub currency: Currency,
    /// The customer group prices are wanted for (e.g. `B2B`); `None` for consumer prices.
    pub customer_group: Option<CustomerGroup>,
    /// Who is asking.
    pub caller: Caller,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext {
            channel: Channel::Web,
            store: None,
            locale: Locale::da_dk(),
            currency: Currency::DKK,
            customer_group: None,
            caller: Caller::Anonymous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_parse_from_either_separator_in_any_case_and_nothing_else() {
        for (s, want) in [("da_DK", "da-DK"), ("DA-dk", "da-DK"), ("sv-SE", "sv-SE")] {
            assert_eq!(s.parse::<Locale>().unwrap().to_string(), want, "{s}");
        }
        for bad in [
            "", "da", "da-DKK", "d1-DK", "da/DK", "da-D", "æø-DK", "da--K",
        ] {
            let e = bad.parse::<Locale>().unwrap_err();
            assert!(
                e.contains("is not a locale of the form ll-CC"),
                "{bad}: {e}"
            );
        }
    }
}
