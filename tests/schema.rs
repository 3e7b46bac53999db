//! The public SDL is generated from the code and checked in at `schema/commerce.graphql`.
//! This test rewrites the file and fails when it changed, so a schema change is always a
//! reviewed diff. Run `cargo test --test schema` and commit the file to accept a change.

#[test]
fn checked_in_sdl_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/commerce.graphql");
    let generated = samlet::graph::sdl();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != generated {
        std::fs::write(&path, &generated).expect("write schema/commerce.graphql");
        panic!(
            "schema/commerce.graphql was out of date and has been rewritten; review `git diff schema/` and commit it"
        );
    }
}

/// The config file's JSON Schema (for editors) is generated from the config types and checked
/// in at `schema/samlet.config.schema.json`, the same way.
#[test]
fn checked_in_config_json_schema_matches_the_code() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/samlet.config.schema.json");
    let generated = samlet::config::json_schema();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != generated {
        std::fs::write(&path, &generated).expect("write schema/samlet.config.schema.json");
        panic!(
            "schema/samlet.config.schema.json was out of date and has been rewritten; review `git diff schema/` and commit it"
        );
    }
}
