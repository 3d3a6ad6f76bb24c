//! Which methods need a token, and which scopes, precomputed by method name.

use std::collections::{HashMap, HashSet};

use super::config::JwtConfig;
use crate::build_error::BuildError;

/// What a method asks of a call.
#[derive(Debug, Default)]
struct Rule {
    public: bool,
    scopes: Box<[Box<str>]>,
}

/// What a call to a method must bring.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Access<'a> {
    /// Nothing.
    Public,
    /// A valid token granting every one of these scopes.
    Token(&'a [Box<str>]),
}

/// The rules of `public_methods` and `scopes`, by `pkg.Service/Method` and by `pkg.Service`
/// (for `pkg.Service/*`); an exact method wins over its service.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    methods: HashMap<Box<str>, Rule>,
    services: HashMap<Box<str>, Rule>,
}

/// A parsed `pkg.Service/Method` or `pkg.Service/*`.
enum Pattern<'a> {
    Method(&'a str),
    Service(&'a str),
}

fn parse<'a>(key: &str, pattern: &'a str) -> Result<Pattern<'a>, BuildError> {
    let invalid = |why: &str| {
        BuildError::new(format!(
            "auth.jwt.{key}: {pattern:?} {why}: write `pkg.Service/Method` or `pkg.Service/*`"
        ))
    };
    if pattern.starts_with('/') {
        return Err(invalid("starts with a slash"));
    }
    let Some((service, method)) = pattern.split_once('/') else {
        return Err(invalid("has no `/`"));
    };
    let bad = |s: &str| s.is_empty() || s.contains(['/', '*']) || s.contains(char::is_whitespace);
    if bad(service) {
        return Err(invalid("is not a method"));
    }
    match method {
        "*" => Ok(Pattern::Service(service)),
        method if bad(method) => Err(invalid("is not a method")),
        _ => Ok(Pattern::Method(pattern)),
    }
}

impl Rules {
    pub(super) fn new(config: &JwtConfig) -> Result<Self, BuildError> {
        let mut rules = Rules::default();
        let mut public_services = HashSet::new();
        for pattern in &config.public_methods {
            let rule = Rule {
                public: true,
                scopes: Box::default(),
            };
            match parse("public_methods", pattern)? {
                Pattern::Method(name) => rules.methods.insert(name.into(), rule),
                Pattern::Service(service) => {
                    public_services.insert(service);
                    rules.services.insert(service.into(), rule)
                }
            };
        }
        for (pattern, scopes) in &config.scopes {
            let key = format!("scopes.{pattern:?}");
            let parsed = parse(&key, pattern)?;
            let (map, name, service) = match parsed {
                Pattern::Method(name) => {
                    let service = name.split_once('/').map_or(name, |(s, _)| s);
                    (&mut rules.methods, name, service)
                }
                Pattern::Service(service) => (&mut rules.services, service, service),
            };
            if map.contains_key(name) || public_services.contains(service) {
                return Err(BuildError::new(format!(
                    "auth.jwt.{key}: {pattern:?} is public (in auth.jwt.public_methods), so it \
                     cannot require scopes: remove it from one of the two"
                )));
            }
            for scope in scopes {
                if scope.is_empty() || scope.contains(char::is_whitespace) {
                    return Err(BuildError::new(format!(
                        "auth.jwt.{key}: {scope:?} is not a scope (one word, no spaces)"
                    )));
                }
            }
            let rule = Rule {
                public: false,
                scopes: scopes.iter().map(|s| s.as_str().into()).collect(),
            };
            map.insert(name.into(), rule);
        }
        Ok(rules)
    }

    /// Fails when a pattern of `config` names a method or a service that is not among
    /// `served` (the App's `pkg.Service/Method` names): a misspelt `scopes` key would leave the
    /// real method needing no scope, a misspelt public one would stay closed.
    pub(crate) fn check_served(config: &JwtConfig, served: &[&str]) -> Result<(), BuildError> {
        let keys = config
            .public_methods
            .iter()
            .map(|pattern| ("public_methods".to_owned(), pattern))
            .chain(
                config
                    .scopes
                    .keys()
                    .map(|pattern| (format!("scopes.{pattern:?}"), pattern)),
            );
        for (key, pattern) in keys {
            let found = match parse(&key, pattern)? {
                Pattern::Method(name) => served.contains(&name),
                Pattern::Service(service) => served.iter().any(|name| {
                    name.strip_prefix(service)
                        .is_some_and(|rest| rest.starts_with('/'))
                }),
            };
            if !found {
                return Err(BuildError::new(format!(
                    "auth.jwt.{key}: the App serves no method {pattern:?}; name one of its \
                     methods as package.Service/Method (or package.Service/* for all of a \
                     service's): {}",
                    served.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// What a call to `name` (`pkg.Service/Method`) of `service` (`pkg.Service`) must bring.
    pub(super) fn access(&self, name: &str, service: &str) -> Access<'_> {
        let rule = match self.methods.get(name) {
            Some(rule) => Some(rule),
            None if self.services.is_empty() => None,
            None => self.services.get(service),
        };
        match rule {
            Some(rule) if rule.public => Access::Public,
            Some(rule) => Access::Token(&rule.scopes),
            None => Access::Token(&[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Format;

    use super::*;

    fn rules(toml: &str) -> Result<Rules, BuildError> {
        let config: JwtConfig = figment::Figment::new()
            .merge(figment::providers::Toml::string(toml))
            .extract()
            .unwrap();
        Rules::new(&config)
    }

    #[test]
    fn patterns_must_name_served_methods() {
        let served = ["shop.v1.Cart/Add", "shop.v1.Cart/List"];
        let check = |toml: &str| {
            let config: JwtConfig = figment::Figment::new()
                .merge(figment::providers::Toml::string(toml))
                .extract()
                .unwrap();
            Rules::check_served(&config, &served).map_err(|e| e.to_string())
        };
        assert!(check("public_methods = [\"shop.v1.Cart/List\"]").is_ok());
        assert!(check("scopes = { \"shop.v1.Cart/*\" = [\"cart\"] }").is_ok());
        let typo = check("scopes = { \"shop.v1.Cart/Ad\" = [\"cart:write\"] }").unwrap_err();
        assert!(
            typo.contains("auth.jwt.scopes.\"shop.v1.Cart/Ad\""),
            "{typo}"
        );
        assert!(
            typo.contains("shop.v1.Cart/Add, shop.v1.Cart/List"),
            "{typo}"
        );
        let service = check("public_methods = [\"shop.v1.Car/*\"]").unwrap_err();
        assert!(service.contains("serves no method"), "{service}");
        // A service name that is only a prefix of a served one is not that service.
        assert!(check("public_methods = [\"shop.v1.Car/*\"]").is_err());
    }

    #[test]
    fn exact_methods_win_over_their_service() {
        let rules = rules(
            r#"
            public_methods = ["a.S/Get", "b.Open/*"]
            scopes."a.S/*" = ["s:read"]
            scopes."a.S/Delete" = ["s:write", "s:admin"]
            "#,
        )
        .unwrap();
        assert_eq!(rules.access("a.S/Get", "a.S"), Access::Public);
        assert_eq!(rules.access("b.Open/Any", "b.Open"), Access::Public);
        let read: &[Box<str>] = &["s:read".into()];
        assert_eq!(rules.access("a.S/List", "a.S"), Access::Token(read));
        let write: &[Box<str>] = &["s:write".into(), "s:admin".into()];
        assert_eq!(rules.access("a.S/Delete", "a.S"), Access::Token(write));
        assert_eq!(rules.access("c.T/X", "c.T"), Access::Token(&[]));
    }

    #[test]
    fn bad_patterns_and_conflicts_are_refused() {
        for (toml, expected) in [
            (r#"public_methods = ["/a.S/Get"]"#, "starts with a slash"),
            (r#"public_methods = ["a.S"]"#, "has no `/`"),
            (r#"public_methods = ["a.S/G/x"]"#, "is not a method"),
            (r#"scopes."*" = ["x"]"#, "has no `/`"),
            (r#"scopes."a.S/Get" = ["two words"]"#, "is not a scope"),
            (
                "public_methods = [\"a.S/Get\"]\nscopes.\"a.S/Get\" = [\"x\"]",
                "is public",
            ),
            (
                "public_methods = [\"a.S/*\"]\nscopes.\"a.S/Get\" = [\"x\"]",
                "is public",
            ),
        ] {
            let err = rules(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{toml}: {err}");
        }
    }
}
