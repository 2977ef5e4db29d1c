//! Turning what the user typed (a name or an id) into a resource, by listing.

use anyhow::bail;
use slipway_api_types::{ClusterResponse, EnvironmentResponse, ProjectResponse};
use slipway_client::ServiceSummary;
use uuid::Uuid;

/// A resource that can be named on the command line.
pub trait Nameable {
    /// What it is, for messages (`project`).
    const KIND: &'static str;
    /// Its id.
    fn id(&self) -> Uuid;
    /// Its name.
    fn name(&self) -> &str;
}

macro_rules! nameable {
    ($type:ty, $kind:literal) => {
        impl Nameable for $type {
            const KIND: &'static str = $kind;
            fn id(&self) -> Uuid {
                self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    };
}

nameable!(ProjectResponse, "project");
nameable!(EnvironmentResponse, "environment");
nameable!(ClusterResponse, "cluster");
nameable!(ServiceSummary, "service");

/// The item whose id or name is `wanted`. `place` says where it was looked
/// for (`in project \`shop\``); `hint` says how to make one when there are none.
pub fn find<T: Nameable>(items: Vec<T>, wanted: &str, place: &str, hint: &str) -> anyhow::Result<T> {
    let kind = T::KIND;
    let wanted = wanted.trim();
    let by_id = Uuid::parse_str(wanted).ok();
    let names: Vec<String> = items.iter().map(|i| format!("`{}`", i.name())).collect();
    let mut matches = items.into_iter().filter(|i| Some(i.id()) == by_id || i.name() == wanted);
    match (matches.next(), matches.next()) {
        (Some(item), None) => Ok(item),
        (Some(_), Some(_)) => bail!("several {kind}s match `{wanted}` {place}; use the id instead"),
        (None, _) if names.is_empty() => bail!("no {kind} `{wanted}` {place}: there are none yet; {hint}"),
        (None, _) => bail!("no {kind} named `{wanted}` {place}; the {kind}s there are {}", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing(Uuid, &'static str);

    impl Nameable for Thing {
        const KIND: &'static str = "thing";
        fn id(&self) -> Uuid {
            self.0
        }
        fn name(&self) -> &str {
            self.1
        }
    }

    fn things() -> Vec<Thing> {
        vec![Thing(Uuid::from_u128(1), "web"), Thing(Uuid::from_u128(2), "api")]
    }

    #[test]
    fn finds_by_name_or_id() {
        assert_eq!(find(things(), "api", "here", "").unwrap().0, Uuid::from_u128(2));
        let id = Uuid::from_u128(1).to_string();
        assert_eq!(find(things(), &id, "here", "").unwrap().1, "web");
    }

    #[test]
    fn an_unknown_name_lists_what_exists() {
        let err = find(things(), "db", "in project `shop`", "").unwrap_err().to_string();
        assert_eq!(err, "no thing named `db` in project `shop`; the things there are `web`, `api`");
    }

    #[test]
    fn nothing_to_find_says_how_to_make_one() {
        let err = find(Vec::<Thing>::new(), "db", "here", "create one").unwrap_err().to_string();
        assert_eq!(err, "no thing `db` here: there are none yet; create one");
    }
}
