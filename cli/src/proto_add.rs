//! `bia proto add`: a .proto skeleton with a CRUD service, its package taken from its folders:
//! REST routes (google.api.http), buf.validate rules and an error reason enum (bia/errors.proto).

use std::path::{Component, Path};

use heck::{ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};

use crate::args::ProtoAddArgs;
use crate::errors::{Error, Result};
use crate::render;
use crate::staging::temp_file;

/// The skeleton, under `templates/`.
const SKELETON: &str = "proto/skeleton.proto.tmpl";

/// Runs `bia proto add`.
pub fn run(args: &ProtoAddArgs) -> Result<()> {
    let path = &args.path;
    if path.extension().is_none_or(|ext| ext != "proto") {
        return Err(Error::Unsupported(format!(
            "{} does not end in .proto; name the file like `proto/catalog/v1/catalog.proto`",
            path.display()
        )));
    }
    if path.symlink_metadata().is_ok() {
        return Err(Error::FileExists {
            path: path.clone(),
            hint: "bia proto add never overwrites a file; choose another name or delete it first"
                .to_owned(),
        });
    }
    let package = package_of(path)?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let resource = stem.to_upper_camel_case();
    if !is_proto_ident(&resource) || resource.is_empty() {
        return Err(Error::Unsupported(format!(
            "cannot make a message name from the file name `{stem}`; use letters, digits and `_`"
        )));
    }
    let service = format!("{resource}Service");
    let resource_field = resource.to_snake_case();
    let collection_path = collection_path(&package, &plural(&resource));
    let context = minijinja::context! {
        package => package.clone(),
        service => service.clone(),
        resource => resource.clone(),
        resources => plural(&resource),
        resource_field => resource_field.clone(),
        resources_field => plural(&resource).to_snake_case(),
        item_path => format!("{collection_path}/{{{resource_field}.id}}"),
        collection_path => collection_path,
        error_enum => format!("{resource}ErrorReason"),
        reason_prefix => resource_field.to_uppercase(),
    };
    let source = render::builtin_file(SKELETON).expect("the skeleton is embedded");
    let text = render::render_str(SKELETON, source, &context)?;

    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    let file = temp_file(parent, None)?;
    std::fs::write(file.path(), text.as_bytes()).map_err(|e| Error::io("write", path, e))?;
    file.persist_noclobber(path)
        .map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => Error::FileExists {
                path: path.clone(),
                hint: "bia proto add never overwrites a file".to_owned(),
            },
            _ => Error::io("write", path, e.error),
        })?;
    println!(
        "Created {} (package {package}, service {service})",
        path.display()
    );
    // Inside a project the proto's services become stubs; outside one, a project is made.
    if Path::new("Cargo.toml").exists() {
        println!("Next: bia proto server {}", path.display());
    } else {
        let name = package.split('.').next().unwrap_or("service");
        println!("Next: bia new {name} --proto {}", path.display());
    }
    Ok(())
}

/// The package from the folders below the proto root: the last `proto/` or `api/` folder in the
/// path, else the whole relative path (`proto/catalog/v1/x.proto` -> `catalog.v1`).
pub(crate) fn package_of(path: &Path) -> Result<String> {
    let folders: Vec<&str> = match path.parent() {
        Some(parent) => parent
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_str().unwrap_or("\u{0}")),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let start = folders
        .iter()
        .rposition(|f| *f == "proto" || *f == "api")
        .map(|i| i + 1);
    let parts = match start {
        Some(start) => &folders[start..],
        None if path.is_absolute() => {
            return Err(Error::Unsupported(format!(
                "cannot tell the package of {}: put it under a `proto/` or `api/` folder \
                 (e.g. proto/catalog/v1/catalog.proto for package catalog.v1)",
                path.display()
            )));
        }
        None => &folders[..],
    };
    if parts.is_empty() {
        return Err(Error::Unsupported(format!(
            "{} has no folders below the proto root to make a package from; \
             use a path like proto/catalog/v1/catalog.proto (package catalog.v1)",
            path.display()
        )));
    }
    if let Some(bad) = parts.iter().find(|p| !is_proto_ident(p)) {
        return Err(Error::Unsupported(format!(
            "the folder `{bad}` cannot be part of a proto package; \
             use letters, digits and `_` (e.g. proto/catalog/v1/catalog.proto)"
        )));
    }
    Ok(parts.join("."))
}

/// The REST path of a collection (<https://google.aip.dev/122>): the package's version, if its
/// last part is one, then the plural in lowerCamelCase (`shop.v2`, `StockItems` ->
/// `/v2/stockItems`).
fn collection_path(package: &str, resources: &str) -> String {
    let collection = resources.to_lower_camel_case();
    let last = package.rsplit('.').next().unwrap_or_default();
    let is_version = last
        .strip_prefix('v')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if is_version {
        format!("/{last}/{collection}")
    } else {
        format!("/{collection}")
    }
}

/// Whether `s` is a valid proto identifier (`[A-Za-z_][A-Za-z0-9_]*`).
fn is_proto_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A simple English plural for names (`Book` -> `Books`, `Category` -> `Categories`).
fn plural(word: &str) -> String {
    let vowel_before_y =
        word.len() > 1 && word[..word.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if word.ends_with('y') && !vowel_before_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with(['s', 'x', 'z']) || word.ends_with("ch") || word.ends_with("sh") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_from_folders() {
        for path in [
            "proto/catalog/v1/catalog.proto",
            "api/catalog/v1/catalog.proto",
            "svc/api/catalog/v1/catalog.proto",
            "catalog/v1/catalog.proto",
        ] {
            assert_eq!(package_of(Path::new(path)).unwrap(), "catalog.v1", "{path}");
        }
        assert!(package_of(Path::new("proto/catalog.proto")).is_err());
        assert!(package_of(Path::new("proto/my-api/v1/x.proto")).is_err());
        assert_eq!(plural("Category"), "Categories");
        assert_eq!(plural("Address"), "Addresses");
        assert_eq!(plural("Key"), "Keys");
        assert_eq!(plural("Book"), "Books");
        assert_eq!(collection_path("catalog.v1", "Books"), "/v1/books");
        assert_eq!(
            collection_path("shop.inventory.v2beta1", "StockItems"),
            "/v2beta1/stockItems"
        );
        assert_eq!(collection_path("shop", "Books"), "/books");
        assert_eq!(collection_path("shop.vault", "Books"), "/books");
        assert!(is_proto_ident("user_service"));
        assert!(!is_proto_ident("1x"));
    }
}
