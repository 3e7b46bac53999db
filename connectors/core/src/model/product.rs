//! Products and their variants, as the PIM describes them.

use super::LocalizedText;
use crate::ids::{ProductId, Sku};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A product attribute value, e.g. `material = oak`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// Attribute code as the PIM names it.
    pub code: String,
    /// Value per locale; a non-localisable value is stored under `en-GB`.
    pub value: LocalizedText,
}

/// An image or document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// Where to download it.
    pub url: String,
    /// The PIM's code or file key.
    pub code: String,
}

/// A sellable variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// The SKU.
    pub sku: Sku,
    /// Variant-specific name (e.g. "Sofa, oak, green").
    pub name: LocalizedText,
    /// Axis values that distinguish it from its siblings (colour, size, ...).
    pub attributes: Vec<Attribute>,
    /// Variant images.
    pub media: Vec<Media>,
}

/// A product with its variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The product (model) code.
    pub id: ProductId,
    /// Name.
    pub name: LocalizedText,
    /// Description for the request's channel.
    pub description: LocalizedText,
    /// Category codes.
    pub categories: Vec<String>,
    /// Common attributes.
    pub attributes: Vec<Attribute>,
    /// Product images.
    pub media: Vec<Media>,
    /// Variants, in the PIM's order; never empty for a sellable product.
    pub variants: Vec<Variant>,
    /// Last change in the PIM.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Product {
    /// The variant with `sku`.
    pub fn variant(&self, sku: &Sku) -> Option<&Variant> {
        self.variants.iter().find(|v| &v.sku == sku)
    }
}
