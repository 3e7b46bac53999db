//! `Money` and `Price`: exact decimal amounts with their ISO 4217 currency.

use async_graphql::SimpleObject;
use rust_decimal::Decimal;
use samlet_connector::model;

/// An exact amount of money.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// The amount as an exact decimal string, e.g. `"1299.00"`. Never a float.
    pub amount: Decimal,
    /// ISO 4217 currency code, e.g. `DKK`.
    pub currency_code: String,
}

/// Minor units shown for every currency the gateway prices in (DKK, SEK, NOK, EUR: 2).
const MINOR_UNITS: u32 = 2;

/// Shows an exact amount with at least the currency's minor units (`1299` as `1299.00`),
/// never rounding away precision a vendor sent.
pub fn display_amount(amount: Decimal) -> Decimal {
    let mut a = amount;
    if a.scale() < MINOR_UNITS {
        a.rescale(MINOR_UNITS);
    }
    a
}

impl From<&model::Money> for Money {
    fn from(m: &model::Money) -> Money {
        Money {
            amount: display_amount(m.amount),
            currency_code: m.currency.as_str().to_owned(),
        }
    }
}

/// A price resolved for the request's channel, currency and customer group.
#[derive(SimpleObject, Clone)]
pub struct Price {
    /// What the customer pays.
    pub amount: Money,
    /// The regular price, when `amount` is reduced.
    pub regular: Option<Money>,
    /// Whether VAT is included in `amount`.
    pub tax_included: bool,
    /// The customer group the price is for; null for the general price.
    pub customer_group: Option<String>,
}

impl From<&model::Price> for Price {
    fn from(p: &model::Price) -> Price {
        Price {
            amount: (&p.amount).into(),
            regular: p.regular.as_ref().map(Money::from),
            tax_included: p.tax_included,
            customer_group: p.customer_group.as_ref().map(|g| g.to_string()),
        }
    }
}
