//! The configuration file's JSON Schema, for editors (completion, hover docs, red squiggles):
//! generated from the config types' `schemars` derives, so it follows the code. The parts the
//! raw file keeps untyped until validation (connector tables, which depend on `kind`; the
//! capability and precedence keys) are described here from the registry and the model.
//! `samlet config-schema` prints it; `schema/samlet.config.schema.json` is the checked-in copy.

use super::{RawConfig, MERGEABLE_FIELDS};
use samlet_connector::capability::Capability;
use schemars::{json_schema, Schema, SchemaGenerator};

/// The JSON Schema of the configuration file, as pretty-printed JSON. Draft 7: the draft
/// editors' validators (VS Code's, Taplo's) support best.
pub fn json_schema() -> String {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawConfig>();
    // Every section has a default except the capabilities, which a gateway cannot do without.
    schema.insert("required".into(), serde_json::json!(["capabilities"]));
    let mut value = schema.to_value();
    drop_null_defaults(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Removes `"default": null`: an unset optional key has no value to show (TOML has no null).
fn drop_null_defaults(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if map.get("default").is_some_and(serde_json::Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_defaults);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_defaults),
        _ => {}
    }
}

/// A duration written as text: `"250ms"`, `"5s"`, `"2m"`.
pub fn duration_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^[0-9]+(ms|s|m)$",
        "description": "A duration: a whole number with `ms`, `s` or `m`, e.g. \"250ms\", \"5s\", \"2m\".",
    })
}

/// `[connectors.NAME]` tables: one of the compiled-in kinds, told apart by `kind`.
pub(super) fn connectors(generator: &mut SchemaGenerator) -> Schema {
    let upstream = generator.subschema_for::<super::UpstreamOverrides>();
    let kinds: Vec<serde_json::Value> = super::registry::kind_schemas(generator)
        .into_iter()
        .map(|(kind, mut schema)| {
            if let Some(props) = schema
                .ensure_object()
                .entry("properties")
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()
            {
                props.insert(
                    "kind".into(),
                    serde_json::json!({ "const": kind, "description": "The connector kind." }),
                );
                props.insert("upstream".into(), upstream.clone().into());
            }
            let required = schema
                .ensure_object()
                .entry("required")
                .or_insert_with(|| serde_json::json!([]));
            if let Some(list) = required.as_array_mut() {
                list.insert(0, "kind".into());
            }
            schema.insert("title".into(), format!("kind = \"{kind}\"").into());
            // `if`/`then` rather than `oneOf`: a mistake is reported against its kind only.
            serde_json::json!({
                "if": { "properties": { "kind": { "const": kind } }, "required": ["kind"] },
                "then": schema,
            })
        })
        .collect();
    let names: Vec<&str> = super::registry::connector_kinds();
    json_schema!({
        "type": "object",
        "description": "Connector instances by name, e.g. [connectors.crm]; each names its `kind` and takes that kind's settings, plus an optional `upstream` table.",
        "additionalProperties": {
            "type": "object",
            "required": ["kind"],
            "properties": { "kind": { "enum": names } },
            "allOf": kinds,
        },
    })
}

/// `[capabilities]`: which instances serve each capability.
pub(super) fn capabilities(_: &mut SchemaGenerator) -> Schema {
    let mut props = serde_json::Map::new();
    for cap in Capability::ALL {
        let several = matches!(cap, Capability::Customers | Capability::MarketingEvents);
        let list = if several {
            serde_json::json!({ "type": "array", "items": { "type": "string" }, "minItems": 1 })
        } else {
            serde_json::json!({ "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 1 })
        };
        let description = if several {
            format!("The connector instances serving {cap}, in precedence order.")
        } else {
            format!("The connector instance serving {cap}.")
        };
        props.insert(
            cap.as_str().into(),
            serde_json::json!({
                "description": description,
                "anyOf": [{ "type": "string" }, list],
            }),
        );
    }
    let required: Vec<&str> = Capability::ALL
        .into_iter()
        .filter(|c| c.required())
        .map(|c| c.as_str())
        .collect();
    json_schema!({
        "type": "object",
        "description": "Which connector instances serve each capability; for customers, the order is the precedence when records disagree.",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// `[customers.precedence]`: per-field precedence among the customer sources.
pub(super) fn precedence(_: &mut SchemaGenerator) -> Schema {
    let props: serde_json::Map<String, serde_json::Value> = MERGEABLE_FIELDS
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                serde_json::json!({ "type": "array", "items": { "type": "string" } }),
            )
        })
        .collect();
    json_schema!({
        "type": "object",
        "description": "Per-field precedence overrides for merged customers, e.g. consents = [\"marketing\"].",
        "properties": props,
        "additionalProperties": false,
    })
}
