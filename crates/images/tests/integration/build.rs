//! Building through the library: the engine ends up with every image at
//! its current recipe; a failing mmdebstrap says why and leaves the engine's
//! image alone.

use slipway_images::{BuildError, BuildOptions, LOCAL_IMAGES, RECIPE_LABEL};
use slipway_runtime::Runtime;

use crate::support::on_each_engine;

#[tokio::test]
async fn the_engine_has_every_image_at_its_current_recipe() {
    on_each_engine("build", |scope| async move {
        let installed = slipway_images::installed(&scope.runtime).await.expect("installed");
        assert_eq!(installed.len(), LOCAL_IMAGES.len());
        for found in installed {
            assert!(found.is_current(), "{found:?}");
            let labels = scope.runtime.image_labels(found.image.reference).await.expect("labels").expect("image");
            assert_eq!(labels.get(RECIPE_LABEL), Some(&found.image.recipe_hash()));
        }
        // A second build has nothing to do.
        let all: Vec<_> = LOCAL_IMAGES.iter().collect();
        for built in slipway_images::build(&scope.runtime, &all, &BuildOptions::default(), &|_, _| {}).await {
            let outcome = built.outcome.expect("build");
            assert!(matches!(outcome, slipway_images::Outcome::UpToDate { .. }), "{outcome:?}");
            assert!(built.took < std::time::Duration::from_secs(10), "{:?}", built.took);
        }
    })
    .await;
}

#[tokio::test]
async fn a_failing_mmdebstrap_says_why_and_leaves_the_image_alone() {
    on_each_engine("build_failure", |scope| async move {
        let cache = tempfile::tempdir().expect("a temporary directory");
        let sources = cache.path().join("unreachable.list");
        std::fs::write(&sources, "deb http://127.0.0.1:9/debian bookworm main\n").expect("write sources");
        let redis = slipway_images::find("redis").expect("redis");
        let before = scope.runtime.image(redis.reference).await.expect("lookup").expect("redis is built");
        let options =
            BuildOptions { cache_dir: Some(cache.path().to_owned()), force: true, apt_sources: Some(sources) };
        let lines = std::sync::Mutex::new(Vec::new());
        let results = slipway_images::build(&scope.runtime, &[redis], &options, &|_, l| {
            lines.lock().unwrap().push(l.to_owned());
        })
        .await;
        let error = results.into_iter().next().expect("one result").outcome.expect_err("no mirror there");
        match &error {
            BuildError::Mmdebstrap { reference, status, tail } => {
                assert_eq!(reference, redis.reference);
                assert!(status.contains("exit status"), "{status}");
                assert!(tail.contains("127.0.0.1"), "{tail}");
            }
            other => panic!("expected Mmdebstrap, got {other:?}"),
        }
        assert!(
            error
                .to_string()
                .starts_with("mmdebstrap failed to make the root file system of localhost/slipway/redis:7")
        );
        assert!(!lines.into_inner().unwrap().is_empty(), "mmdebstrap's output is forwarded");
        let after = scope.runtime.image(redis.reference).await.expect("lookup").expect("still there");
        assert_eq!(after.id, before.id);
    })
    .await;
}
