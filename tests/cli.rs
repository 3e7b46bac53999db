//! The binary's commands as a user runs them: `check` points at the line to change, `schema`
//! prints the SDL.

#![cfg(feature = "demo")]

use std::process::Command;

fn samlet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_samlet"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run samlet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("samlet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

const VALID_TAIL: &str = r#"
[connectors.pim]
kind = "akeneo"
base_url = "https://pim.example.com"
client_id = "id"
secret = "s"
username = "u"
password = "p"
"#;

#[test]
fn check_names_an_unknown_connector_kind_and_an_unserved_capability_with_their_lines() {
    let path = write(
        "bad.toml",
        &format!(
            "[connectors.crm]\nkind = \"sugarcrm\"\n{VALID_TAIL}\n[capabilities]\nproducts = \"pim\"\nprices = \"pim\"\n"
        ),
    );
    let (ok, _, err) = samlet(&["check", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    let p = path.display();
    assert!(
        err.contains(&format!(
            "{p}:2:1: connectors.crm.kind: unknown connector kind `sugarcrm`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{p}:14:1: capabilities.prices: connector `pim` (akeneo) cannot serve prices"
        )),
        "{err}"
    );
    assert!(
        err.contains("capabilities: nobody serves `customers`"),
        "{err}"
    );
    assert!(
        err.contains("capabilities: nobody serves `orders`"),
        "{err}"
    );
}

#[test]
fn check_reports_a_missing_connector_setting_and_never_prints_secrets() {
    let path = write(
        "missing.toml",
        "[connectors.pim]\nkind = \"akeneo\"\nbase_url = \"https://pim.example.com\"\nclient_id = \"id\"\nsecret = \"TOPSECRET\"\nusername = \"u\"\n",
    );
    let (ok, out, err) = samlet(&["check", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("connectors.pim: missing field `password`"),
        "{err}"
    );
    assert!(!err.contains("TOPSECRET") && !out.contains("TOPSECRET"));
}

#[test]
fn check_accepts_the_example_stack_with_its_secrets_in_the_environment() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack-a.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_samlet"));
    cmd.args(["check", "--config", path.to_str().unwrap()]);
    for var in [
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_CLIENT_SECRET",
        "AKENEO_CLIENT_ID",
        "AKENEO_SECRET",
        "AKENEO_USERNAME",
        "AKENEO_PASSWORD",
        "BC_CLIENT_SECRET",
        "KLAVIYO_PRIVATE_API_KEY",
    ] {
        cmd.env(
            var,
            if var.starts_with("KLAVIYO") {
                "pk_secret-value"
            } else {
                "secret-value"
            },
        );
    }
    for var in ["BC_TENANT_ID", "BC_COMPANY_ID", "BC_CLIENT_ID"] {
        cmd.env(var, "0b0e7b57-1c3a-4c1e-9f57-2f1a3c4d5e6f");
    }
    let out = cmd.output().expect("run");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("ok (4 connectors"), "{stdout}");
    assert!(!stdout.contains("secret-value") && !stderr.contains("secret-value"));
    // Without the environment, each missing variable is named.
    let (ok, _, err) = samlet(&["check", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("environment variable `SALESFORCE_CLIENT_SECRET` is not set"),
        "{err}"
    );
}

#[test]
fn schema_prints_the_checked_in_sdl() {
    let (ok, out, _) = samlet(&["schema"]);
    assert!(ok);
    let file = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/commerce.graphql"),
    )
    .unwrap();
    assert_eq!(out, file);
}
