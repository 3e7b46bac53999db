//! Customers as each system of record knows them, match keys that recognise one person across
//! systems, and the normalisation that makes keys comparable (e-mail case, phone format).

use super::{Address, SourceRef};
use crate::ids::{ConnectorName, CustomerGroup, CustomerNumber};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A person or a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CustomerKind {
    /// A consumer.
    #[default]
    Person,
    /// A business customer (B2B).
    Company,
}

/// What a consent covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentChannel {
    /// Marketing e-mail.
    Email,
    /// Marketing SMS.
    Sms,
}

/// A marketing consent as the system that holds it records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Consent {
    /// E-mail or SMS.
    pub channel: ConsentChannel,
    /// Whether the customer agreed.
    pub granted: bool,
    /// When the consent last changed, if known.
    pub updated_at: Option<DateTime<Utc>>,
}

/// One system's record of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// Which system and record.
    pub source: SourceRef,
    /// The shared customer number, where the system stores it.
    pub number: Option<CustomerNumber>,
    /// Person or company.
    pub kind: CustomerKind,
    /// E-mail, normalised by [`normalize_email`].
    pub email: Option<String>,
    /// Phone in E.164, normalised by [`normalize_phone`].
    pub phone: Option<String>,
    /// Given name (persons).
    pub first_name: Option<String>,
    /// Family name (persons).
    pub last_name: Option<String>,
    /// Company name (companies, or a person's employer).
    pub company_name: Option<String>,
    /// Loyalty club member number.
    pub loyalty_number: Option<String>,
    /// Loyalty tier, e.g. `GOLD`.
    pub loyalty_tier: Option<String>,
    /// Price group, e.g. `B2B`.
    pub customer_group: Option<CustomerGroup>,
    /// Postal address.
    pub address: Option<Address>,
    /// Marketing consents held by this system.
    pub consents: Vec<Consent>,
    /// Last change in this system.
    pub updated_at: Option<DateTime<Utc>>,
}

impl CustomerRecord {
    /// An empty record of `source`, to fill field by field.
    pub fn new(source: SourceRef) -> CustomerRecord {
        CustomerRecord {
            source,
            number: None,
            kind: CustomerKind::Person,
            email: None,
            phone: None,
            first_name: None,
            last_name: None,
            company_name: None,
            loyalty_number: None,
            loyalty_tier: None,
            customer_group: None,
            address: None,
            consents: Vec::new(),
            updated_at: None,
        }
    }

    /// Every match key this record answers to (customer number, e-mail, phone, loyalty
    /// number, and its own id in its system), so a batch lookup can file the record under each
    /// key that was asked for.
    pub fn match_keys(&self) -> Vec<MatchKey> {
        let mut keys = Vec::with_capacity(5);
        keys.extend(self.number.clone().map(MatchKey::CustomerNumber));
        keys.extend(self.email.clone().map(MatchKey::Email));
        keys.extend(self.phone.clone().map(MatchKey::Phone));
        keys.extend(self.loyalty_number.clone().map(MatchKey::LoyaltyNumber));
        keys.push(MatchKey::ExternalId {
            connector: self.source.connector.clone(),
            id: self.source.native_id.clone(),
        });
        keys
    }

    /// Whether this record answers `key`.
    pub fn matches(&self, key: &MatchKey) -> bool {
        match key {
            MatchKey::Email(e) => self.email.as_deref() == Some(e),
            MatchKey::Phone(p) => self.phone.as_deref() == Some(p),
            MatchKey::LoyaltyNumber(l) => self.loyalty_number.as_deref() == Some(l),
            MatchKey::CustomerNumber(n) => self.number.as_ref() == Some(n),
            MatchKey::ExternalId { connector, id } => {
                &self.source.connector == connector && &self.source.native_id == id
            }
        }
    }
}

/// A key that recognises a customer across systems. Build it with [`MatchKey::email`] or
/// [`MatchKey::phone`] so the value is normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MatchKey {
    /// A normalised e-mail address.
    Email(String),
    /// A phone number in E.164.
    Phone(String),
    /// A loyalty club member number.
    LoyaltyNumber(String),
    /// The shared customer number.
    CustomerNumber(CustomerNumber),
    /// The id one system gives its own record of the person (a Salesforce Contact Id, a
    /// Klaviyo profile id, a Business Central customer GUID, ...): what
    /// [`SourceRef::native_id`](super::SourceRef) shows. Only the named connector instance
    /// can answer it; every other source ignores it.
    ExternalId {
        /// The connector instance whose id this is.
        connector: ConnectorName,
        /// The record's id in that system, exactly as the connector reports it.
        id: String,
    },
}

impl MatchKey {
    /// The id `key` asks `connector` for, if it is an external id of that connector.
    pub fn external_id_for<'a>(&'a self, connector: &ConnectorName) -> Option<&'a str> {
        match self {
            MatchKey::ExternalId { connector: c, id } if c == connector => Some(id),
            _ => None,
        }
    }

    /// Whether `connector` can answer this key: every key but another connector's external id.
    pub fn is_for(&self, connector: &ConnectorName) -> bool {
        match self {
            MatchKey::ExternalId { connector: c, .. } => c == connector,
            _ => true,
        }
    }

    /// An e-mail key, normalised; `None` if `raw` is not an e-mail address.
    pub fn email(raw: &str) -> Option<MatchKey> {
        normalize_email(raw).map(MatchKey::Email)
    }

    /// A phone key in E.164; `None` if `raw` is not a phone number.
    pub fn phone(raw: &str, default_country: &str) -> Option<MatchKey> {
        normalize_phone(raw, default_country).map(MatchKey::Phone)
    }
}

/// Trims and lower-cases an e-mail address; `None` unless it has one `@` with text on both
/// sides and a dot in the domain.
pub fn normalize_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    if local.is_empty() || domain.contains('@') || !domain.contains('.') || e.contains(' ') {
        return None;
    }
    Some(e)
}

/// Country calling codes for the ISO countries the gateway knows a default for.
fn calling_code(country: &str) -> Option<&'static str> {
    Some(match country.to_ascii_uppercase().as_str() {
        "DK" => "45",
        "SE" => "46",
        "NO" => "47",
        "FI" => "358",
        "DE" => "49",
        "GB" => "44",
        _ => return None,
    })
}

/// Normalises a phone number to E.164 (`+4512345678`). Accepts `+45 12 34 56 78`,
/// `0045 12345678`, `(+45) 12-34-56-78`, and national numbers (`12 34 56 78`, or Swedish
/// `070-123 45 67` with its trunk `0`) in `default_country`. `None` if it cannot be one.
pub fn normalize_phone(raw: &str, default_country: &str) -> Option<String> {
    let trimmed = raw.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("(+");
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
    {
        return None;
    }
    let e164 = if international {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        let cc = calling_code(default_country)?;
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        format!("{cc}{national}")
    };
    (8..=15).contains(&e164.len()).then(|| format!("+{e164}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_answers_to_each_key_it_holds() {
        let mut r = CustomerRecord::new(SourceRef {
            connector: crate::ids::ConnectorName::new("crm"),
            system: "salesforce".into(),
            native_id: "003".into(),
        });
        r.email = Some("a@b.dk".into());
        r.loyalty_number = Some("71000001".into());
        let keys = r.match_keys();
        assert_eq!(
            keys,
            vec![
                MatchKey::Email("a@b.dk".into()),
                MatchKey::LoyaltyNumber("71000001".into()),
                MatchKey::ExternalId {
                    connector: crate::ids::ConnectorName::new("crm"),
                    id: "003".into()
                }
            ]
        );
        assert!(keys.iter().all(|k| r.matches(k)));
        let elsewhere = MatchKey::ExternalId {
            connector: crate::ids::ConnectorName::new("erp"),
            id: "003".into(),
        };
        assert!(!r.matches(&elsewhere));
        assert!(!elsewhere.is_for(&r.source.connector));
        assert_eq!(
            elsewhere.external_id_for(&crate::ids::ConnectorName::new("erp")),
            Some("003")
        );
    }

    #[test]
    fn emails_compare_case_insensitively() {
        assert_eq!(
            normalize_email("  Anna.Hansen@Example.DK "),
            Some("anna.hansen@example.dk".into())
        );
        assert_eq!(normalize_email("no-at-sign"), None);
        assert_eq!(normalize_email("a@b@c.dk"), None);
    }

    #[test]
    fn phones_in_common_formats_become_e164() {
        for raw in [
            "+45 12 34 56 78",
            "0045 12345678",
            "12 34 56 78",
            "(+45) 12-34-56-78",
        ] {
            assert_eq!(
                normalize_phone(raw, "DK").as_deref(),
                Some("+4512345678"),
                "{raw}"
            );
        }
        assert_eq!(
            normalize_phone("070-123 45 67", "SE").as_deref(),
            Some("+46701234567")
        );
        assert_eq!(normalize_phone("call me", "DK"), None);
        assert_eq!(normalize_phone("123", "DK"), None);
    }
}
