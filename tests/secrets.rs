//! Secrets never appear in logs, errors, metrics or `check` output: the real binary runs with
//! known credentials (some from the environment, one deliberately wrong so upstream calls fail
//! with auth errors), debug logging in JSON, and traffic that drives both answers and errors;
//! then every byte it printed or served is searched for the secrets.

#![cfg(feature = "demo")]

mod common;

use common::{free_port, Kill};
use serde_json::json;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const GOOD_SF_SECRET: &str = "demo-secret";
const GOOD_AKENEO_PASSWORD: &str = "demo-password";
const WRONG_KLAVIYO_KEY: &str = "pk_WRONG-SECRET-9f3a7c";
const JWT_SECRET: &str = "jwt-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_errors_metrics_or_check_output() {
    let bin = env!("CARGO_BIN_EXE_samlet");
    let dir = std::env::temp_dir().join(format!("samlet-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = dir.join("demo.toml");
    let port = free_port();
    let _sims = Kill(
        Command::new(bin)
            .args([
                "demo",
                "--simulators-only",
                "--port",
                &port.to_string(),
                "--write-config",
            ])
            .arg(&generated)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if generated.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Secrets from the environment, and a wrong marketing key.
    let text = std::fs::read_to_string(&generated).unwrap();
    let text = text
        .replace(
            &format!("client_secret = \"{GOOD_SF_SECRET}\""),
            "client_secret = \"${SF_SECRET}\"",
        )
        .replace(
            &format!("password = \"{GOOD_AKENEO_PASSWORD}\""),
            "password = \"${AKENEO_PASSWORD}\"",
        )
        .replace(
            &format!("api_key = \"{}\"", samlet_klaviyo::simulator::DEMO_API_KEY),
            &format!("api_key = \"{WRONG_KLAVIYO_KEY}\""),
        );
    // The token-signing secret from the environment too.
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("shared_secret = ") {
                "shared_secret = \"${JWT_SECRET}\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("${JWT_SECRET}")
            && text.contains("${SF_SECRET}")
            && text.contains("${AKENEO_PASSWORD}")
            && text.contains(WRONG_KLAVIYO_KEY)
    );
    let config: PathBuf = dir.join("gateway.toml");
    std::fs::write(&config, &text).unwrap();
    let (out, err) = (dir.join("stdout.log"), dir.join("stderr.log"));
    let gateway = Kill(
        Command::new(bin)
            .args(["--log-format", "json", "serve", "--config"])
            .arg(&config)
            .env("SF_SECRET", GOOD_SF_SECRET)
            .env("AKENEO_PASSWORD", GOOD_AKENEO_PASSWORD)
            .env("JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{url}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = samlet::auth::mint_hs256(
        JWT_SECRET,
        json!({ "role": "service", "sub": "secrets-test", "iss": samlet::demo::DEMO_ISSUER, "aud": samlet::demo::DEMO_AUDIENCE }),
        Duration::from_secs(600),
    );
    // A token signed with the wrong secret is refused without being echoed.
    let forged = samlet::auth::mint_hs256(
        "forged-secret-forged-secret-forged-secret",
        json!({ "role": "service", "sub": "intruder", "iss": samlet::demo::DEMO_ISSUER, "aud": samlet::demo::DEMO_AUDIENCE }),
        Duration::from_secs(600),
    );
    let mut served = String::new();
    let refused = http
        .post(format!("{url}/graphql"))
        .bearer_auth(&forged)
        .json(&json!({ "query": "{ order(number: \"SO0039014\") { status } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    served.push_str(&refused.text().await.unwrap());
    for q in [
        r#"{ product(sku: "P000042-GREEN") { name price { amount { amount } } stock { available } } }"#,
        r#"{ customer(customerNumber: "C0000012") { email consents { granted } sources { system } } }"#,
        r#"{ customer(email: "nobody@nowhere.example") { email } }"#,
        r#"{ order(number: "SO0039014") { status } }"#,
        r#"mutation { redeemVoucher(code: "L10-C0000012", idempotencyKey: "k1") { status } }"#,
    ] {
        let body = http
            .post(format!("{url}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": q }))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        served.push_str(&body);
    }
    assert!(
        served.contains("UPSTREAM_AUTH"),
        "the wrong key made upstream auth errors: {served}"
    );
    for path in ["/metrics", "/dashboard/data", "/ready"] {
        served.push_str(
            &http
                .get(format!("{url}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    drop(gateway);
    // `check` on the same file, with and without the environment.
    let check = Command::new(bin)
        .args(["check", "--config"])
        .arg(&config)
        .env("SF_SECRET", GOOD_SF_SECRET)
        .env("AKENEO_PASSWORD", GOOD_AKENEO_PASSWORD)
        .env("JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    let unset = Command::new(bin)
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("SF_SECRET")
        .output()
        .unwrap();
    let mut printed = String::new();
    for f in [&out, &err] {
        std::fs::File::open(f)
            .unwrap()
            .read_to_string(&mut printed)
            .unwrap();
    }
    assert!(
        printed.contains("\"level\""),
        "the gateway logged (JSON): {printed}"
    );
    for o in [&check, &unset] {
        printed.push_str(&String::from_utf8_lossy(&o.stdout));
        printed.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    for secret in [
        GOOD_SF_SECRET,
        GOOD_AKENEO_PASSWORD,
        WRONG_KLAVIYO_KEY,
        JWT_SECRET,
        token.as_str(),
        forged.as_str(),
    ] {
        assert!(
            !printed.contains(secret),
            "`{secret}` leaked into the gateway's output"
        );
        assert!(!served.contains(secret), "`{secret}` leaked into an answer");
    }
}
