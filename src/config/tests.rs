//! Configuration parsing and validation: every problem names its line and says what to write.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse("test.toml", text, &|k| {
        (k == "SET").then(|| "value".to_owned())
    })
}

#[test]
fn durations_need_units() {
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
    assert!(parse_duration("5").unwrap_err().contains("no unit"));
}

#[test]
fn syntax_errors_point_at_the_line() {
    let e = parse("[server]\nlisten = \n").unwrap_err().to_string();
    assert!(e.starts_with("test.toml:2:"), "{e}");
}

#[test]
fn an_unknown_server_key_is_named() {
    let e = parse("[server]\nlissen = \"127.0.0.1:1\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("lissen"), "{e}");
    assert!(e.starts_with("test.toml:2:"), "{e}");
}

#[test]
fn an_unknown_connector_kind_is_rejected_with_the_known_kinds() {
    let e = parse("[connectors.crm]\nkind = \"sugarcrm\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.toml:2:1: connectors.crm.kind: unknown connector kind `sugarcrm`"),
        "{e}"
    );
}

#[test]
fn a_capability_nobody_serves_is_reported() {
    let e = parse("[capabilities]\n").unwrap_err().to_string();
    for cap in [
        "customers",
        "products",
        "prices",
        "inventory",
        "locations",
        "orders",
    ] {
        assert!(e.contains(&format!("nobody serves `{cap}`")), "{e}");
    }
}

#[test]
fn a_capability_naming_an_undefined_connector_is_reported() {
    let e = parse("[capabilities]\nproducts = \"pim\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.toml:2:1: capabilities.products: no connector named `pim`"),
        "{e}"
    );
}

#[test]
fn missing_environment_variables_are_named() {
    let e = parse("[connectors.x]\nkind = \"sugarcrm\"\nsecret = \"${UNSET_VAR}\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "test.toml:3:1: connectors.x.secret: environment variable `UNSET_VAR` is not set"
        ),
        "{e}"
    );
}

#[test]
fn per_connector_upstream_settings_override_the_global_ones() {
    let global = UpstreamOverrides {
        timeout: Some(Duration::from_secs(3)),
        retries: Some(1),
        ..Default::default()
    };
    let one = UpstreamOverrides {
        retries: Some(4),
        quota: Some(QuotaConfig {
            per_second: 10.try_into().unwrap(),
            burst: None,
        }),
        breaker_failures: Some(0),
        ..Default::default()
    };
    let p = one.apply(&global.apply(&UpstreamPolicy::default()));
    assert_eq!(
        p.timeout,
        Duration::from_secs(3),
        "inherited from [upstream]"
    );
    assert_eq!(p.retries, 4, "the connector's own wins");
    assert_eq!(
        p.quota.map(|q| (q.per_second.get(), q.burst.get())),
        Some((10, 10))
    );
    assert_eq!(p.breaker.failures, 0);
    assert_eq!(
        p.deadline,
        UpstreamPolicy::default().deadline,
        "unset everywhere: the default"
    );
}

#[test]
fn auth_needs_exactly_one_key_source_and_takes_secrets_from_the_environment() {
    let e = parse("[auth]\nissuer = \"https://id.example/\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.toml:1:1: auth: name where keys come from"),
        "{e}"
    );
    let e = parse("[auth]\nshared_secret = \"${SET}\"\njwks_url = \"https://id.example/jwks\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("name one key source"), "{e}");
    let e = parse("[auth]\nshared_secret = \"${UNSET}\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.toml:2:1: auth.shared_secret: environment variable `UNSET`"),
        "{e}"
    );
    let e = parse("[auth]\njwks_uri = \"https://id.example/jwks\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("jwks_uri"), "{e}");
}

#[test]
fn no_room_for_requests_is_refused_at_its_line() {
    let e = parse("[server]\nmax_concurrent_requests = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test.toml:2:1: server.max_concurrent_requests: must be at least 1"),
        "{e}"
    );
}
