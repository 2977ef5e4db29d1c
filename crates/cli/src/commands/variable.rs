//! `slipway variable`: variables and secrets of a project, an environment or
//! a service, and the effective variables a service runs with.
//!
//! Secret values never need the command line: `set --secret` reads the value
//! from standard input (or `--value-file`), and listings print `***`.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;
use slipway_api_types::{
    EffectiveVariable, ImportedVariableRequest, VariableEditRequest, VariableImportRequest, VariableRequest,
    VariableResponse,
};
use slipway_client::ServiceSummary;
use slipway_model::variable::{MASK, VariableScope, parse_dotenv};
use uuid::Uuid;

use super::config::Session;
use super::output::{self, Output, OutputArgs};
use super::target::{self, Located};
use super::{env, project};

/// `slipway variable ...`
#[derive(Debug, clap::Args)]
pub struct VariableArgs {
    #[command(subcommand)]
    command: VariableCommand,
    #[command(flatten)]
    output: OutputArgs,
}

/// Where variables are set: a project, one of its environments, or one of
/// that environment's services.
#[derive(Debug, Clone, clap::Args)]
struct Place {
    /// The project's name or id.
    #[arg(long)]
    project: String,
    /// The environment's name or id (for environment and service variables).
    #[arg(long = "env", value_name = "ENV")]
    env: Option<String>,
    /// The service's name or id (for service variables).
    #[arg(long, requires = "env")]
    service: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum VariableCommand {
    /// List what a project, environment or service sees: its own variables,
    /// those of the broader scopes, and the built-ins. Secrets show as `***`.
    List {
        #[command(flatten)]
        place: Place,
    },
    /// Set a variable: create it, or change its value if it exists at this
    /// place. The value comes from --value, --value-file, or standard input.
    Set {
        /// The variable's name.
        key: String,
        /// The value. Not for secrets: use standard input or --value-file.
        #[arg(long, conflicts_with = "value_file")]
        value: Option<String>,
        /// Read the value from this file (its whole content).
        #[arg(long)]
        value_file: Option<PathBuf>,
        /// Keep the value secret: encrypted at rest, never shown again.
        #[arg(long)]
        secret: bool,
        /// Mount the value as a file at this absolute path.
        #[arg(long)]
        mount_path: Option<String>,
        /// What the variable is for.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        place: Place,
    },
    /// Delete a variable of this place, with its aliases and overrides.
    Delete {
        /// The variable's name.
        key: String,
        #[command(flatten)]
        place: Place,
    },
    /// Import the variables of a `.env` file into this place. For a service,
    /// every entry is checked before any is written.
    Import {
        /// The `.env` file (`KEY=value` lines).
        #[arg(long)]
        file: PathBuf,
        /// Import every variable as a secret.
        #[arg(long)]
        secret: bool,
        /// Replace the values of variables that exist already.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        place: Place,
    },
    /// The variables services run with if deployed now: each key, the scope
    /// that decides it and its value (secrets as `***`). In JSON, one object
    /// per variable, with the service's name.
    Effective {
        /// The services, by id, or by name with --project and --env.
        #[arg(required = true)]
        services: Vec<String>,
        /// The project's name or id, to find services by name.
        #[arg(long)]
        project: Option<String>,
        /// The environment's name or id, to find services by name.
        #[arg(long = "env", value_name = "ENV", requires = "project")]
        env: Option<String>,
    },
}

/// A located place: its scope, its id, and words for messages.
struct VariablePlace {
    scope: VariableScope,
    parent: Uuid,
    describe: String,
    /// For service places.
    service: Option<ServiceSummary>,
}

impl Place {
    async fn locate(&self, session: &Session) -> anyhow::Result<VariablePlace> {
        let project = project::find(session, &self.project).await?;
        let Some(env_name) = &self.env else {
            let describe = format!("project `{}`", project.name);
            return Ok(VariablePlace { scope: VariableScope::Project, parent: project.id, describe, service: None });
        };
        let env = env::find(session, &project, env_name).await?;
        let at = Located { project, env };
        let Some(service_name) = &self.service else {
            let describe = at.describe();
            return Ok(VariablePlace { scope: VariableScope::Environment, parent: at.env.id, describe, service: None });
        };
        let service = target::find_service(session, &at, service_name).await?;
        let Some(scope) = VariableScope::of_service(service.kind) else {
            bail!("{} `{}` takes no variables; set them on the services that use it", service.kind.path(), service.name)
        };
        let describe = format!("{} `{}` in {}", service.kind.path(), service.name, at.describe());
        Ok(VariablePlace { scope, parent: service.id, describe, service: Some(service) })
    }
}

/// The value a table shows.
fn shown(value: Option<&str>, secret: bool) -> String {
    if secret { MASK.to_owned() } else { value.unwrap_or_default().to_owned() }
}

/// The value of `set`: from the flag, the file, or standard input.
fn read_value(key: &str, value: Option<String>, file: Option<&PathBuf>, secret: bool) -> anyhow::Result<String> {
    if let Some(value) = value {
        if secret {
            bail!(
                "a secret's value does not belong on the command line (shell history, process lists): \
                 pipe it on standard input or pass --value-file"
            );
        }
        return Ok(value);
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()));
    }
    let stdin = std::io::stdin();
    let mut text = String::new();
    if stdin.is_terminal() {
        eprint!("Value of {key}: ");
        std::io::stderr().flush()?;
        stdin.lock().read_line(&mut text).context("cannot read the value")?;
    } else {
        stdin.lock().read_to_string(&mut text).context("cannot read the value from standard input")?;
    }
    // One line from a pipe or a prompt ends with a newline that is not part of the value.
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    Ok(text.to_owned())
}

/// The variable `key` defined at the place itself (not inherited).
fn own<'a>(found: &'a [VariableResponse], at: &VariablePlace, key: &str) -> Option<&'a VariableResponse> {
    let own_scope = |v: &&VariableResponse| v.scope == at.scope;
    found.iter().filter(own_scope).find(|v| {
        v.key == key
            && match at.service.as_ref() {
                Some(s) => v.service_id == Some(s.id),
                None => true,
            }
    })
}

pub async fn run(args: VariableArgs, session: Session) -> anyhow::Result<()> {
    let out = args.output.output;
    match args.command {
        VariableCommand::List { place } => {
            let at = place.locate(&session).await?;
            let found = session.client.list_variables(at.scope, at.parent).await?;
            output::list(
                out,
                &found,
                &["key", "value", "scope", "type"],
                |v| {
                    let kind = output::wire_name(&v.variable_type);
                    vec![v.key.clone(), shown(v.value.as_deref(), v.is_secret), output::wire_name(&v.scope), kind]
                },
                &format!("No variables for {} yet.", at.describe),
            )
        }
        VariableCommand::Set { key, value, value_file, secret, mount_path, description, place } => {
            let at = place.locate(&session).await?;
            let value = read_value(&key, value, value_file.as_ref(), secret)?;
            let found = session.client.list_variables(at.scope, at.parent).await?;
            let (done, verb) = match own(&found, &at, &key) {
                Some(existing) if existing.is_secret && !secret => {
                    bail!(
                        "`{key}` on {} is a secret: pass --secret, and the value on standard input or with --value-file",
                        at.describe
                    )
                }
                Some(existing) => {
                    let edit = VariableEditRequest {
                        key: key.clone(),
                        value: Some(value),
                        description,
                        mount_path,
                        is_secret: Some(secret),
                        enable_interpolation_in_file: None,
                    };
                    (session.client.edit_variable(existing.id, &edit).await?, "Updated")
                }
                None => {
                    let request = VariableRequest {
                        key: key.clone(),
                        value,
                        mount_path,
                        is_secret: secret,
                        variable_scope: at.scope,
                        variable_parent_id: at.parent,
                        description,
                        enable_interpolation_in_file: None,
                    };
                    (session.client.create_variable(&request).await?, "Set")
                }
            };
            let what = if done.is_secret { "secret" } else { "variable" };
            output::one(out, &done, &format!("{verb} {what} `{key}` on {}.", at.describe))
        }
        VariableCommand::Delete { key, place } => {
            let at = place.locate(&session).await?;
            let found = session.client.list_variables(at.scope, at.parent).await?;
            let Some(existing) = own(&found, &at, &key) else {
                let here: Vec<String> =
                    found.iter().filter(|v| v.scope == at.scope).map(|v| format!("`{}`", v.key)).collect();
                if here.is_empty() {
                    bail!("no variable `{key}` on {}: it has none of its own", at.describe);
                }
                bail!("no variable `{key}` on {}; its own are {}", at.describe, here.join(", "));
            };
            session.client.delete_variable(existing.id).await?;
            output::one(out, existing, &format!("Deleted variable `{key}` from {}.", at.describe))
        }
        VariableCommand::Import { file, secret, overwrite, place } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let pairs = parse_dotenv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let at = place.locate(&session).await?;
            import(&session, out, &at, pairs, secret, overwrite).await
        }
        VariableCommand::Effective { services, project, env } => {
            effective(&session, out, &services, project, env).await
        }
    }
}

/// Imports `pairs` at `at`: through the import endpoint (all or nothing)
/// for a service; one by one for a project or an environment.
async fn import(
    session: &Session,
    out: Output,
    at: &VariablePlace,
    pairs: Vec<(String, String)>,
    secret: bool,
    overwrite: bool,
) -> anyhow::Result<()> {
    let count = pairs.len();
    let imported: Vec<VariableResponse> = match &at.service {
        Some(service) => {
            let vars = pairs
                .into_iter()
                .map(|(name, value)| ImportedVariableRequest { name, value, scope: at.scope, is_secret: secret })
                .collect();
            let request = VariableImportRequest { overwrite, vars };
            session.client.import_variables(service.id, service.kind, &request).await?;
            let found = session.client.list_variables(at.scope, at.parent).await?;
            found.into_iter().filter(|v| v.scope == at.scope).collect()
        }
        None => {
            let found = session.client.list_variables(at.scope, at.parent).await?;
            let mut done = Vec::with_capacity(count);
            for (key, value) in pairs {
                match own(&found, at, &key) {
                    Some(existing) if overwrite => {
                        let edit = VariableEditRequest { key, value: Some(value), ..Default::default() };
                        done.push(session.client.edit_variable(existing.id, &edit).await?);
                    }
                    Some(_) => {
                        bail!("`{key}` exists on {} already: import with --overwrite to replace it", at.describe)
                    }
                    None => {
                        let request = VariableRequest {
                            key,
                            value,
                            mount_path: None,
                            is_secret: secret,
                            variable_scope: at.scope,
                            variable_parent_id: at.parent,
                            description: None,
                            enable_interpolation_in_file: None,
                        };
                        done.push(session.client.create_variable(&request).await?);
                    }
                }
            }
            done
        }
    };
    output::one(out, &imported, &format!("Imported {count} variables into {}.", at.describe))
}

/// One row of `variable effective`.
#[derive(Debug, Serialize)]
struct EffectiveRow {
    service: String,
    #[serde(flatten)]
    variable: EffectiveVariable,
}

async fn effective(
    session: &Session,
    out: Output,
    wanted: &[String],
    project: Option<String>,
    env: Option<String>,
) -> anyhow::Result<()> {
    let located = match (project, env) {
        (Some(project), Some(env)) => Some(target::EnvTarget { project, env }.locate(session).await?),
        _ => None,
    };
    let mut rows = Vec::new();
    for name in wanted {
        let (id, label) = match (Uuid::parse_str(name.trim()), &located) {
            (_, Some(at)) => {
                let s = target::find_service(session, at, name).await?;
                (s.id, s.name)
            }
            (Ok(id), None) => (id, name.trim().to_owned()),
            (Err(_), None) => {
                bail!("name service `{name}` by its id, or give --project and --env to find it by name")
            }
        };
        let variables = session.client.effective_variables(id).await?;
        rows.extend(variables.into_iter().map(|variable| EffectiveRow { service: label.clone(), variable }));
    }
    let several = wanted.len() > 1;
    let header: &[&str] = if several { &["service", "key", "source", "value"] } else { &["key", "source", "value"] };
    output::list(
        out,
        &rows,
        header,
        |r| {
            let v = &r.variable;
            let mut row =
                vec![v.key.clone(), output::wire_name(&v.source_scope), shown(v.value.as_deref(), v.is_secret)];
            if several {
                row.insert(0, r.service.clone());
            }
            row
        },
        "No variables.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_tables() {
        assert_eq!(shown(Some("v"), false), "v");
        assert_eq!(shown(None, true), "***");
        assert_eq!(shown(None, false), "");
    }

    #[test]
    fn a_secret_is_refused_on_the_command_line() {
        let err = read_value("K", Some("hunter2".into()), None, true).unwrap_err().to_string();
        assert!(err.contains("standard input"), "{err}");
        assert_eq!(read_value("K", Some("plain".into()), None, false).unwrap(), "plain");
    }
}
