//! Redis 7: the official image's command line, a configuration file with
//! `requirepass` as the engine writes it, data kept on its volume.

use rand::distr::{Alphanumeric, SampleString};
use slipway_runtime::InstanceFile;

use crate::support::on_each_engine;

#[tokio::test]
async fn redis_requires_the_configured_password_and_keeps_its_data() {
    on_each_engine("redis", |scope| async move {
        let image = slipway_images::find("redis").expect("redis");
        // As the engine makes them: alphanumeric, in a configuration file.
        let password = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let config =
            format!("requirepass {password}\nappendonly yes\ndir /data\nbind 0.0.0.0\nprotected-mode no\nport 6379\n");
        let volume = scope.volume("data").await;
        let mut spec = scope.server_spec("server", image, &[], &volume).await;
        spec.command = Some(vec!["redis-server".to_owned(), "/etc/slipway/redis.conf".to_owned()]);
        spec.files = vec![InstanceFile {
            path: "/etc/slipway/redis.conf".to_owned(),
            content: config.into_bytes(),
            mode: 0o444,
            uid: 0,
        }];
        let server = scope.start(&spec).await;
        let client = scope.client(image, &[("GOOD", &password), ("BAD", "not-the-password")]).await;
        let ip = scope.ip(&server).await;
        let cli =
            |var: &str, args: &str| format!("REDISCLI_AUTH=\"${var}\" redis-cli --no-auth-warning -h {ip} {args} 2>&1");

        let pong = scope.until_ok(&client, &server, &format!("{} | grep -x PONG", cli("GOOD", "PING"))).await;
        assert_eq!(pong.trim(), "PONG");
        let out = scope.sh(&client, &cli("GOOD", "SET greeting kept")).await;
        assert_eq!(out.output.trim(), "OK", "{out:?}");
        let out = scope.sh(&client, &cli("GOOD", "CONFIG GET dir")).await;
        assert_eq!(out.output.split_whitespace().collect::<Vec<_>>(), ["dir", "/data"], "{out:?}");
        let out = scope.sh(&client, &format!("redis-cli -h {ip} GET greeting 2>&1")).await;
        assert!(out.output.contains("NOAUTH"), "{out:?}");
        let out = scope.sh(&client, &cli("BAD", "GET greeting")).await;
        assert!(out.output.contains("WRONGPASS"), "{out:?}");
        scope.assert_pid_1(&server, "redis-server", "redis").await;

        scope.stop_cleanly(&server).await;
        let mut spec = spec.clone();
        spec.name = scope.name("again");
        let again = scope.start(&spec).await;
        let ip = scope.ip(&again).await;
        let get =
            format!("REDISCLI_AUTH=\"$GOOD\" redis-cli --no-auth-warning -h {ip} GET greeting 2>&1 | grep -x kept");
        assert_eq!(scope.until_ok(&client, &again, &get).await.trim(), "kept");
    })
    .await;
}

#[tokio::test]
async fn redis_without_arguments_serves_every_address_like_the_official_image() {
    on_each_engine("redis_default", |scope| async move {
        let image = slipway_images::find("redis").expect("redis");
        let volume = scope.volume("data").await;
        let server = scope.server("server", image, &[], &volume).await;
        let client = scope.client(image, &[]).await;
        let ip = scope.ip(&server).await;
        let pong = scope.until_ok(&client, &server, &format!("redis-cli -h {ip} PING 2>&1 | grep -x PONG")).await;
        assert_eq!(pong.trim(), "PONG");
        let out = scope.sh(&server, "ls -ld /data | cut -d' ' -f3").await;
        assert_eq!(out.output.trim(), "redis", "{out:?}");
    })
    .await;
}
