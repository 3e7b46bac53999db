//! Global object ids: `base64url("Type:key")`, opaque to clients, decoded by `node(id:)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The kinds of node a global id can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    /// A product.
    Product,
    /// A variant.
    Variant,
    /// A customer.
    Customer,
    /// An order.
    Order,
    /// A location.
    Location,
}

impl NodeType {
    fn as_str(self) -> &'static str {
        match self {
            NodeType::Product => "Product",
            NodeType::Variant => "Variant",
            NodeType::Customer => "Customer",
            NodeType::Order => "Order",
            NodeType::Location => "Location",
        }
    }

    fn parse(s: &str) -> Option<NodeType> {
        [
            NodeType::Product,
            NodeType::Variant,
            NodeType::Customer,
            NodeType::Order,
            NodeType::Location,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// Encodes a global id.
pub fn encode(t: NodeType, key: &str) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{}:{key}", t.as_str())))
}

/// Decodes a global id into its type and key.
pub fn decode(id: &str) -> Option<(NodeType, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (t, key) = raw.split_once(':')?;
    Some((NodeType::parse(t)?, key.to_owned()))
}

/// Encodes an opaque page cursor.
pub fn encode_cursor(raw: &str) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes an opaque page cursor.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = encode(NodeType::Order, "SO0000042");
        assert_eq!(decode(&id), Some((NodeType::Order, "SO0000042".into())));
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Spaceship:1")), None);
    }
}
