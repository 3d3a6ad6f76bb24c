#![allow(clippy::result_large_err)] // figment's Jail closures return figment's own error

use std::time::Duration;

use figment::Jail;

use super::*;

/// Writes `config/config.toml`, the file [`Config::load`] reads when no `--config` is given.
fn config_file(jail: &mut Jail, text: &str) -> figment::error::Result<()> {
    jail.create_dir("config")?;
    jail.create_file("config/config.toml", text)?;
    Ok(())
}

#[test]
fn defaults_apply_without_any_source() {
    let config = Config::builder("svc").env(false).build().unwrap();
    assert_eq!(config.app.name, "svc");
    assert_eq!(config.app.shutdown_timeout, Duration::from_secs(10));
    assert_eq!(config.server.grpc.addr.to_string(), "0.0.0.0:9000");
    assert_eq!(config.server.admin.addr.to_string(), "0.0.0.0:8000");
    assert_eq!(config.server.grpc.max_message_bytes, 4 * 1024 * 1024);
    assert_eq!(config.telemetry.otlp.endpoint, None);
    assert_eq!(config.telemetry.sampler_ratio, 1.0);
    assert_eq!(config.log.format, LogFormat::Pretty);
    assert_eq!(config.registry.etcd, None);
}

#[test]
fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
    Jail::expect_with(|jail| {
        config_file(
            jail,
            r#"
            [app]
            shutdown_timeout = "3s"
            [server.grpc]
            addr = "127.0.0.1:7000"
            max_message_bytes = 1024
            [telemetry.otlp]
            endpoint = "http://file:4317"
            [clients.user]
            target = "http://127.0.0.1:9001"
            "#,
        )?;
        jail.set_env("BIA_SERVER__GRPC__ADDR", "127.0.0.1:7001");
        jail.set_env(
            "BIA_REGISTRY__ETCD__ENDPOINTS",
            r#"["http://127.0.0.1:2379"]"#,
        );
        jail.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4317");
        jail.set_env("OTEL_SERVICE_NAME", "renamed");
        let config = Config::load("svc").expect("loads");
        assert_eq!(config.app.name, "renamed");
        assert_eq!(config.app.shutdown_timeout, Duration::from_secs(3));
        assert_eq!(config.server.grpc.addr.to_string(), "127.0.0.1:7001");
        assert_eq!(config.server.grpc.max_message_bytes, 1024);
        assert_eq!(
            config.telemetry.otlp.endpoint.as_deref(),
            Some("http://env:4317")
        );
        assert_eq!(
            config.registry.etcd.as_ref().unwrap().endpoints,
            vec!["http://127.0.0.1:2379".to_owned()]
        );
        let user = config.client("user").unwrap();
        assert_eq!(user.target, Target::One("http://127.0.0.1:9001".into()));
        assert_eq!(user.timeout, Duration::from_secs(2));
        Ok(())
    });
}

#[test]
fn a_bad_value_names_the_key_the_value_and_the_source() {
    Jail::expect_with(|jail| {
        jail.set_env("BIA_SERVER__GRPC__ADDR", "nine");
        let err = Config::load("svc").unwrap_err().to_string();
        assert!(err.contains("server.grpc.addr"), "{err}");
        assert!(err.contains("\"nine\""), "{err}");
        assert!(err.contains("BIA_SERVER__GRPC__ADDR"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        config_file(jail, "[app]\nshutdown_timeout = \"soon\"\n")?;
        let err = Config::load("svc").unwrap_err().to_string();
        assert!(err.contains("app.shutdown_timeout"), "{err}");
        assert!(err.contains("\"soon\""), "{err}");
        assert!(err.contains("config.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_keys_and_broken_rules_are_rejected() {
    let err = Config::builder("svc")
        .toml("[server.grpc]\nadress = \"127.0.0.1:1\"")
        .env(false)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("adress"), "{err}");
    let err = Config::builder("svc")
        .set("telemetry.sampler_ratio", 2.0)
        .env(false)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("telemetry.sampler_ratio = 2"), "{err}");
}

#[test]
fn a_service_reads_its_own_sections() {
    #[derive(serde::Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Database {
        url: String,
    }
    let config = Config::builder("svc")
        .toml("[database]\nurl = \"sqlite://x.db\"")
        .env(false)
        .build()
        .unwrap();
    let db: Database = config.section("database").unwrap();
    assert_eq!(db.url, "sqlite://x.db");
    let missing: Database = config.section("nothing").unwrap();
    assert_eq!(missing, Database::default());
    let err = config.client("absent").unwrap_err().to_string();
    assert!(err.contains("clients.absent.target"), "{err}");
}

#[test]
fn a_missing_config_file_is_an_error_that_says_so() {
    let err = Config::builder("svc")
        .file("no/such/file.toml")
        .env(false)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/file.toml does not exist"), "{err}");
}

#[test]
fn config_path_comes_from_either_flag_form() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        config_path_from_args(args(&["bin", "--config", "a.toml"])).unwrap(),
        Some(PathBuf::from("a.toml"))
    );
    assert_eq!(
        config_path_from_args(args(&["bin", "--config=b.toml"])).unwrap(),
        Some(PathBuf::from("b.toml"))
    );
    assert_eq!(config_path_from_args(args(&["bin"])).unwrap(), None);
    assert!(config_path_from_args(args(&["bin", "--config"])).is_err());
}

#[test]
fn embedded_defaults_sit_below_the_file_and_the_environment() {
    Jail::expect_with(|jail| {
        config_file(jail, "[server.admin]\naddr = \"127.0.0.1:8100\"\n")?;
        jail.set_env("BIA_APP__SHUTDOWN_TIMEOUT", "1s");
        let embedded = "[server.grpc]\naddr = \"0.0.0.0:9001\"\n[server.admin]\naddr = \"0.0.0.0:8001\"\n[app]\nshutdown_timeout = \"4s\"\n";
        let config = Config::load_with_defaults("svc", "1.2.3", embedded).expect("loads");
        assert_eq!(config.app.version, "1.2.3");
        assert_eq!(config.server.grpc.addr.port(), 9001);
        assert_eq!(config.server.admin.addr.to_string(), "127.0.0.1:8100");
        assert_eq!(config.app.shutdown_timeout, Duration::from_secs(1));
        Ok(())
    });
}
