//! `slipway images`: the database images Slipway builds from the host's
//! Debian packages (PostgreSQL 15, MySQL as MariaDB 10.11, Redis 7), for
//! hosts without a registry. Talks to the container engine directly, not to
//! a server: run it on the host whose engine runs the databases.
//!
//! At a terminal each image gets a spinner with its last line of progress;
//! elsewhere (CI) every line is printed, prefixed with the image's name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use slipway_images::{BuildOptions, DatabaseImage, LOCAL_IMAGES, Outcome};
use slipway_runtime_docker::DockerRuntime;

use super::output;
use super::progress::Sink;

/// The `images` commands.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    #[command(subcommand)]
    command: ImagesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ImagesCommand {
    /// Build database images from the host's Debian packages and import them
    /// into the container engine (skipped when it has them at the same recipe).
    Build(BuildArgs),
    /// The database images Slipway builds, and whether the engine has them.
    List(EngineArgs),
}

#[derive(Debug, clap::Args)]
struct EngineArgs {
    /// The container engine (`unix:///run/podman/podman.sock`, `tcp://host:port`);
    /// by default the first that answers among $DOCKER_HOST, Podman and Docker.
    #[arg(long, env = "SLIPWAY_ENGINE", value_name = "ENDPOINT")]
    engine: Option<String>,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The images to build: postgresql, mysql, redis (all when none is named).
    /// MongoDB is not in Debian: it needs a registry image.
    names: Vec<String>,
    #[command(flatten)]
    engine: EngineArgs,
    /// Make the root file system again and import it even when the engine has
    /// the image at the same recipe (picks up Debian's updates).
    #[arg(long)]
    force: bool,
    /// Where root file system tarballs are cached [default: ~/.cache/slipway/images].
    #[arg(long, env = "SLIPWAY_IMAGES_CACHE", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// An apt sources file (deb822 `.sources` or one-line `.list`) naming a
    /// Debian bookworm mirror, instead of the host's apt sources.
    #[arg(long, value_name = "FILE")]
    apt_sources: Option<PathBuf>,
}

/// Runs an `images` command.
pub async fn run(args: ImagesArgs) -> anyhow::Result<()> {
    match args.command {
        ImagesCommand::Build(args) => build(args).await,
        ImagesCommand::List(args) => list(args).await,
    }
}

async fn connect(engine: &EngineArgs) -> anyhow::Result<DockerRuntime> {
    DockerRuntime::connect(engine.engine.as_deref()).await.context("cannot reach the container engine")
}

async fn build(args: BuildArgs) -> anyhow::Result<()> {
    // Unknown names (and MongoDB) fail before anything starts.
    let images = if args.names.is_empty() {
        LOCAL_IMAGES.iter().collect()
    } else {
        let mut images: Vec<&'static DatabaseImage> = Vec::new();
        for name in &args.names {
            let image = slipway_images::find(name)?;
            if !images.contains(&image) {
                images.push(image);
            }
        }
        images
    };
    let runtime = connect(&args.engine).await?;
    let options = BuildOptions { cache_dir: args.cache_dir, force: args.force, apt_sources: args.apt_sources };
    let sink = Sink::Stdout;
    sink.line(&format!(
        "Building {} into {} (cache: {})",
        images.iter().map(|i| i.reference).collect::<Vec<_>>().join(", "),
        runtime.endpoint(),
        options.cache_dir().display()
    ));
    let view = View::new(&images, sink);
    let results = slipway_images::build(&runtime, &images, &options, &|image, line| view.line(image, line)).await;

    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for built in &results {
        let took = format!("{:.1} s", built.took.as_secs_f64());
        let (result, detail) = match &built.outcome {
            Ok(Outcome::UpToDate { id }) => ("up to date", slipway_images::short_id(id).to_owned()),
            Ok(Outcome::Imported { id, cached, .. }) => {
                let how = if *cached { "imported (cached root fs)" } else { "built and imported" };
                (how, slipway_images::short_id(id).to_owned())
            }
            Err(err) => {
                failures.push(format!("{}: {err}", built.image.reference));
                ("failed", err.to_string().lines().next().unwrap_or_default().to_owned())
            }
        };
        view.finish(built.image, result, &took);
        rows.push(vec![built.image.reference.to_owned(), result.to_owned(), took, detail]);
    }
    sink.line("");
    for line in output::table(&["image", "result", "took", "id or reason"], rows).lines() {
        sink.line(line);
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

async fn list(args: EngineArgs) -> anyhow::Result<()> {
    let runtime = connect(&args).await?;
    let installed = slipway_images::installed(&runtime).await?;
    let rows = installed.iter().map(|i| {
        let state = match (&i.id, i.is_current()) {
            (None, _) => "missing: slipway images build".to_owned(),
            (Some(_), true) => "current".to_owned(),
            (Some(_), false) => "outdated: slipway images build".to_owned(),
        };
        vec![
            i.image.reference.to_owned(),
            format!("{} {}", i.image.kind.as_str(), i.image.version),
            i.image.packages.join(", "),
            i.id.as_deref().map(slipway_images::short_id).unwrap_or("-").to_owned(),
            state,
        ]
    });
    output::emit(&output::table(&["image", "database", "debian packages", "id", "state"], rows))
}

/// Progress: a spinner per image at a terminal, plain prefixed lines elsewhere.
struct View {
    sink: Sink,
    /// Keeps the spinners drawn together.
    _multi: Option<MultiProgress>,
    bars: HashMap<&'static str, ProgressBar>,
    /// Serialises plain lines of images built at once.
    plain: Mutex<()>,
    width: usize,
}

impl View {
    fn new(images: &[&'static DatabaseImage], sink: Sink) -> View {
        let width = images.iter().map(|i| i.name.len()).max().unwrap_or(0);
        let multi = sink.is_terminal().then(MultiProgress::new);
        let mut bars = HashMap::new();
        if let Some(multi) = &multi {
            let style = ProgressStyle::with_template("{spinner:.cyan} {prefix}  {wide_msg} {elapsed:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            for image in images {
                let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
                bar.set_prefix(format!("{:<width$}", image.name));
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(image.name, bar);
            }
        }
        View { sink, _multi: multi, bars, plain: Mutex::new(()), width }
    }

    fn line(&self, image: &DatabaseImage, line: &str) {
        match self.bars.get(image.name) {
            Some(bar) => bar.set_message(line.to_owned()),
            None => {
                let _guard = self.plain.lock();
                self.sink.line(&format!("{:<w$} | {line}", image.name, w = self.width));
            }
        }
    }

    fn finish(&self, image: &DatabaseImage, result: &str, took: &str) {
        match self.bars.get(image.name) {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("  {prefix}  {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(format!("{result} in {took}"));
            }
            None => self.sink.line(&format!("{:<w$} | {result} in {took}", image.name, w = self.width)),
        }
    }
}
