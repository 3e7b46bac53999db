//! Money: an exact decimal amount and its ISO 4217 currency. Never a float.

use crate::context::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An exact amount of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount, exact (e.g. `1299.00`).
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `amount` of `currency`.
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Parses a vendor's decimal string (`"12.50"`), rejecting floats' exponent forms.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, String> {
        amount
            .trim()
            .parse::<Decimal>()
            .map(|amount| Money { amount, currency })
            .map_err(|e| format!("`{amount}` is not a decimal amount: {e}"))
    }
}

/// A price of one variant, resolved for a request context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// What the customer pays now.
    pub amount: Money,
    /// The regular price when `amount` is a reduced one.
    pub regular: Option<Money>,
    /// Whether VAT is included in `amount`.
    pub tax_included: bool,
    /// The customer group the price applies to; `None` for the general price.
    pub customer_group: Option<crate::ids::CustomerGroup>,
}
