//! Every example configuration validates, so the examples never rot.

#![cfg(feature = "demo")]

#[test]
fn every_example_config_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        // Secrets come from the environment in real deployments; any value will do here.
        let env = |name: &str| {
            Some(if name.ends_with("_ID") {
                "0b0e7b57-1c3a-4c1e-9f57-2f1a3c4d5e6f".to_owned()
            } else if name.ends_with("_MID") {
                "100000001".to_owned()
            } else if name.starts_with("KLAVIYO") {
                format!("pk_value-of-{name}")
            } else {
                format!("value-of-{name}")
            })
        };
        if let Err(e) = samlet::Config::parse(&path.display().to_string(), &text, &env) {
            panic!("{e}");
        }
        checked += 1;
    }
    assert!(checked >= 1, "no example configs found");
}
