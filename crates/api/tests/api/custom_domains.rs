//! Custom domains of applications, containers and helm services: the
//! contract's shapes and status codes, one owner per domain across the
//! installation, refusals that change nothing, tenant isolation, and the
//! DNS check against a real DNS server (dnsmasq).

use axum::http::Method;
use serde_json::{Value, json};
use slipway_api::{ApiConfig, AppState, DnsResolver};
use slipway_model::{ApiToken, Role, new_id, now};
use slipway_testkit::{DnsRecord, DnsServer};

use crate::support::{App, Backend, bodies, tenant};

/// A container, an application and a helm service in a new environment of `app`.
async fn services(app: &App) -> (String, String, String) {
    let (container, application, helm, _) = services_as(app, &app.token, &app.org).await;
    (container, application, helm)
}

/// The same, created with `token` in organization `org`; also returns the environment.
async fn services_as(app: &App, token: &str, org: &str) -> (String, String, String, String) {
    let (projects, registries) =
        (format!("/organization/{org}/project"), format!("/organization/{org}/containerRegistry"));
    let project = app.call_as(token, Method::POST, &projects, Some(json!({"name": "shop"}))).await.expect(200);
    let environments = format!("/project/{}/environment", project["id"].as_str().unwrap());
    let env = app.call_as(token, Method::POST, &environments, Some(json!({"name": "staging"}))).await.expect(201);
    let env = env["id"].as_str().unwrap().to_owned();
    let registries = app.call_as(token, Method::GET, &registries, None).await.expect(200);
    let registry = registries["results"][0]["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for (kind, body) in [
        ("container", bodies::container("web", &registry)),
        ("application", bodies::application("api")),
        ("helm", bodies::helm("chart")),
    ] {
        let created =
            app.call_as(token, Method::POST, &format!("/environment/{env}/{kind}"), Some(body)).await.expect(201);
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    (ids[0].clone(), ids[1].clone(), ids[2].clone(), env)
}

/// A token of `role` in the app's own organization.
async fn token_in(app: &App, role: Role) -> String {
    let secret = slipway_api::auth::generate_token();
    let token = ApiToken {
        id: new_id(),
        organization_id: app.org_id(),
        name: format!("{role:?}"),
        description: None,
        role,
        created_at: now(),
        last_used_at: None,
    };
    app.store.insert_token(&token, &slipway_api::auth::token_digest(&secret)).await.unwrap();
    secret
}

fn domains(list: &Value) -> Vec<&str> {
    list["results"].as_array().unwrap().iter().map(|d| d["domain"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn custom_domains_are_listed_created_edited_and_deleted_per_kind() {
    let app = App::new().await;
    let (container, application, helm) = services(&app).await;
    for (kind, id, name) in
        [("container", &container, "web"), ("application", &application, "api"), ("helm", &helm, "chart")]
    {
        let path = format!("/{kind}/{id}/customDomain");
        assert_eq!(app.get(&path).await.expect(200), json!({"results": []}));
        let domain = format!("{kind}.shop.example.com");
        let created = app.post(&path, json!({"domain": domain, "generate_certificate": true})).await.expect(201);
        let short = slipway_model::naming::short_dns(id.parse().unwrap());
        assert_eq!(created["domain"], json!(domain));
        assert_eq!(created["generate_certificate"], json!(true));
        assert_eq!(created["use_cdn"], json!(false));
        assert_eq!(created["validation_domain"], json!(format!("{name}-{short}.localhost")));
        assert!(created["id"].is_string() && created["created_at"].is_string(), "{created}");
        let item = format!("{path}/{}", created["id"].as_str().unwrap());
        assert_eq!(app.get(&item).await.expect(200), created);
        assert_eq!(domains(&app.get(&path).await.expect(200)), [domain.as_str()]);

        // An edit replaces the fields it names; the domain is normalized.
        let edited = app.put(&item, json!({"domain": format!("WWW.{domain}."), "use_cdn": true})).await.expect(200);
        assert_eq!(edited["domain"], json!(format!("www.{domain}")));
        assert_eq!((edited["use_cdn"].clone(), edited["generate_certificate"].clone()), (json!(true), json!(true)));
        assert!(edited["updated_at"].is_string(), "{edited}");
        let edited = app.put(&item, json!({"generate_certificate": false})).await.expect(200);
        assert_eq!(
            (edited["domain"].clone(), edited["use_cdn"].clone()),
            (json!(format!("www.{domain}")), json!(true))
        );
        assert_eq!(edited["generate_certificate"], json!(false));

        app.delete(&item).await.expect(204);
        app.get(&item).await.refused(404, None);
        app.delete(&item).await.refused(404, None);
        assert_eq!(app.get(&path).await.expect(200), json!({"results": []}));
    }
}

#[tokio::test]
async fn a_domain_has_one_owner_across_the_installation() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = App::on(backend).await;
        let (container, application, _) = services(&app).await;
        let first = json!({"domain": "shop.example.com"});
        let first = app.post(&format!("/container/{container}/customDomain"), first).await.expect(201);
        // Another service of the same organization: refused, in any case.
        let path = format!("/application/{application}/customDomain");
        let refused = app.post(&path, json!({"domain": "Shop.Example.com"})).await.refused(409, None);
        assert!(refused["message"].as_str().unwrap().contains("shop.example.com"), "{refused}");
        // A service of another organization: refused too.
        let (other_org, other) = tenant(&app.store, "globex", Role::Owner).await;
        let (other_container, _, _, _) = services_as(&app, &other, &other_org).await;
        let other_path = format!("/container/{other_container}/customDomain");
        let claim = json!({"domain": "shop.example.com"});
        app.call_as(&other, Method::POST, &other_path, Some(claim.clone())).await.refused(409, None);
        // Renaming another domain onto a taken one is refused, and changes nothing.
        let second = app.post(&path, json!({"domain": "api.example.com"})).await.expect(201);
        let item = format!("{path}/{}", second["id"].as_str().unwrap());
        app.put(&item, json!({"domain": "shop.example.com"})).await.refused(409, None);
        assert_eq!(app.get(&item).await.expect(200)["domain"], "api.example.com");
        // Deleted with its service: the domain is free again.
        app.delete(&format!("/container/{container}")).await.expect(204);
        app.get(&format!("/container/{container}/customDomain/{}", first["id"].as_str().unwrap()))
            .await
            .refused(404, None);
        app.call_as(&other, Method::POST, &other_path, Some(claim)).await.expect(201);
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let config = ApiConfig { base_domain: "apps.example.com".into(), ..ApiConfig::default() };
    let app = App::with_config(Backend::Sqlite, config).await;
    let (container, _, _) = services(&app).await;
    let path = format!("/container/{container}/customDomain");
    let long = format!("{}.com", ["a"; 130].join("."));
    let under_base = format!("web-{}.apps.example.com", slipway_model::naming::short_dns(container.parse().unwrap()));
    for (body, field) in [
        (json!({}), "domain"),
        (json!({"domain": ""}), "domain"),
        (json!({"domain": 42}), "domain"),
        (json!({"domain": "shop"}), "domain"),
        (json!({"domain": "*.example.com"}), "domain"),
        (json!({"domain": "shop_1.example.com"}), "domain"),
        (json!({"domain": "-shop.example.com"}), "domain"),
        (json!({"domain": "10.0.0.1"}), "domain"),
        (json!({"domain": long}), "domain"),
        (json!({"domain": under_base}), "domain"),
        (json!({"domain": "apps.example.com"}), "domain"),
        (json!({"domain": "shop.example.com", "generate_certificate": "yes"}), "generate_certificate"),
        (json!({"domain": "shop.example.com", "use_cdn": 1}), "use_cdn"),
    ] {
        let refused = app.post(&path, body.clone()).await.refused(400, Some(field));
        assert_eq!(refused["code"], "validation_failed", "{body}: {refused}");
    }
    let refused = app.post(&path, json!({"domain": "shop.example.com", "cdn": true})).await.refused(400, None);
    assert!(refused["message"].as_str().unwrap().contains("cdn"), "{refused}");
    app.raw(axum::http::Method::POST, &path, Some(&format!("Token {}", app.token)), Some(b"[1]".to_vec()))
        .await
        .refused(400, None);
    assert_eq!(app.get(&path).await.expect(200), json!({"results": []}), "nothing was stored");

    let created = app.post(&path, json!({"domain": "shop.example.com"})).await.expect(201);
    let item = format!("{path}/{}", created["id"].as_str().unwrap());
    app.put(&item, json!({"domain": "*.example.com"})).await.refused(400, Some("domain"));
    app.put(&item, json!({"use_cdn": "no"})).await.refused(400, Some("use_cdn"));
    app.get(&format!("{path}/not-an-id")).await.refused(400, None);
    assert_eq!(app.get(&item).await.expect(200), created, "refused edits change nothing");
}

#[tokio::test]
async fn other_tenants_services_and_domains_are_not_found() {
    let app = App::new().await;
    let (container, application, _, env) = services_as(&app, &app.token, &app.org).await;
    let path = format!("/container/{container}/customDomain");
    let created = app.post(&path, json!({"domain": "shop.example.com"})).await.expect(201);
    let item = format!("{path}/{}", created["id"].as_str().unwrap());

    let (_, intruder) = tenant(&app.store, "globex", Role::Owner).await;
    app.call_as(&intruder, Method::GET, &path, None).await.refused(404, None);
    app.call_as(&intruder, Method::GET, &item, None).await.refused(404, None);
    app.call_as(&intruder, Method::POST, &path, Some(json!({"domain": "x.example.com"}))).await.refused(404, None);
    app.call_as(&intruder, Method::PUT, &item, Some(json!({"use_cdn": true}))).await.refused(404, None);
    app.call_as(&intruder, Method::DELETE, &item, None).await.refused(404, None);
    app.call_as(&intruder, Method::GET, &format!("/container/{container}/checkCustomDomain"), None)
        .await
        .refused(404, None);
    // Through another service, or another kind's path: not found either.
    let id = created["id"].as_str().unwrap();
    app.get(&format!("/application/{application}/customDomain/{id}")).await.refused(404, None);
    app.get(&format!("/application/{container}/customDomain")).await.refused(404, None);
    let database = app.service(&env, "database", bodies::database("db")).await;
    app.get(&format!("/container/{database}/customDomain")).await.refused(404, None);
    assert_eq!(app.get(&item).await.expect(200), created, "untouched");

    // A viewer reads, and may not change.
    let viewer = token_in(&app, Role::Viewer).await;
    app.call_as(&viewer, Method::GET, &path, None).await.expect(200);
    app.call_as(&viewer, Method::POST, &path, Some(json!({"domain": "v.example.com"}))).await.refused(403, None);
    app.call_as(&viewer, Method::DELETE, &item, None).await.refused(403, None);
    app.get(&item).await.expect(200);
}

#[tokio::test]
async fn the_check_reports_each_domains_cname_from_a_real_dns_server() {
    let base = "apps.example.test";
    // The ids, hence the validation domains, are known once the services
    // exist: create them, start the DNS server with their records, then
    // serve the same store with the DNS server as the API's resolver.
    let mut app =
        App::with_config(Backend::Sqlite, ApiConfig { base_domain: base.into(), ..ApiConfig::default() }).await;
    let (container, _, _) = services(&app).await;
    let validation = format!("web-{}.{base}", slipway_model::naming::short_dns(container.parse().unwrap()));
    let host = |name: &str, ip: [u8; 4]| DnsRecord::Host { name: name.into(), ip: ip.into() };
    let cname = |name: &str, target: &str| DnsRecord::Cname { name: name.into(), target: target.into() };
    let dns = DnsServer::start(
        "example.test",
        &[
            host(&validation, [127, 0, 0, 1]),
            host("elsewhere.example.test", [127, 0, 0, 2]),
            host("bare.example.test", [127, 0, 0, 3]),
            host("cdn-edge.example.test", [127, 0, 0, 4]),
            cname("shop.example.test", &validation),
            cname("hop.example.test", "shop.example.test"),
            cname("wrong.example.test", "elsewhere.example.test"),
            cname("cdn.example.test", "cdn-edge.example.test"),
        ],
    );
    let config =
        ApiConfig { base_domain: base.into(), dns_resolver: DnsResolver::Server(dns.addr()), ..ApiConfig::default() };
    app.router = slipway_api::router(AppState::new(app.store.clone(), config));
    let checker = &app;
    let path = format!("/container/{container}/customDomain");
    for domain in ["shop", "hop", "missing", "wrong", "bare"] {
        checker.post(&path, json!({"domain": format!("{domain}.example.test")})).await.expect(201);
    }
    checker.post(&path, json!({"domain": "cdn.example.test", "use_cdn": true})).await.expect(201);

    let checked = checker.get(&format!("/container/{container}/checkCustomDomain")).await.expect(200);
    let results = checked["results"].as_array().unwrap();
    let status = |domain: &str| -> (String, String) {
        let found = results.iter().find(|r| r["domain_name"] == domain).unwrap_or_else(|| panic!("{checked}"));
        (found["status"].as_str().unwrap().to_owned(), found["error_details"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(results.len(), 6, "{checked}");
    assert_eq!(status("shop.example.test"), ("MATCHES_LOAD_BALANCER_HOST".into(), String::new()));
    assert_eq!(status("hop.example.test").0, "MATCHES_LOAD_BALANCER_HOST", "a chain of CNAMEs reaching it");
    let (missing, why) = status("missing.example.test");
    assert_eq!(missing, "DOMAIN_NOT_CONFIGURED");
    assert!(why.contains(&validation), "says what to point it at: {why}");
    let (wrong, why) = status("wrong.example.test");
    assert_eq!(wrong, "DOMAIN_LINKED_TO_WRONG_HOST");
    assert!(why.contains("elsewhere.example.test") && why.contains(&validation), "{why}");
    let (bare, why) = status("bare.example.test");
    assert_eq!(bare, "RESOLVES_TO_IP");
    assert!(why.contains("127.0.0.3") && why.contains(&validation), "{why}");
    assert_eq!(
        status("cdn.example.test"),
        ("RESOLVES_TO_IP".into(), String::new()),
        "behind a CDN, an address is enough"
    );

    // A server that does not answer: a generic failure that says why.
    drop(dns);
    let checked = checker.get(&format!("/container/{container}/checkCustomDomain")).await.expect(200);
    for result in checked["results"].as_array().unwrap() {
        assert_eq!(result["status"], "GENERIC_FAILURE", "{checked}");
        assert!(result["error_details"].as_str().is_some_and(|d| d.contains("DNS")), "{checked}");
    }
}
