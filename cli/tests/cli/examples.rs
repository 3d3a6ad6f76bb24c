//! The examples follow the scaffold: the files `bia new` writes the same way in every project
//! are the same in the examples, and `bia proto server` finds nothing to change in them.

use std::path::{Path, PathBuf};

use crate::support::{bia, read, temp};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

#[test]
fn the_examples_share_the_scaffolds_files() {
    let template = repo().join("templates/service");
    for example in ["user-service", "recommendation-service"] {
        let dir = repo().join("examples").join(example);
        for file in ["build.rs", "src/server.rs"] {
            assert_eq!(
                read(dir.join(file)),
                read(template.join(file)),
                "examples/{example}/{file} differs from templates/service/{file}"
            );
        }
    }
}

#[test]
fn proto_server_finds_nothing_to_change_in_the_examples() {
    for (example, proto) in [
        ("user-service", "proto/user/v1/user.proto"),
        (
            "recommendation-service",
            "proto/recommendation/v1/recommendation.proto",
        ),
    ] {
        let dir = temp();
        let source = repo().join("examples").join(example);
        let copy = dir.path().join(example);
        for part in ["src", "proto"] {
            copy_dir(&source.join(part), &copy.join(part));
        }
        std::fs::copy(source.join("Cargo.toml"), copy.join("Cargo.toml")).unwrap();
        let out = bia(&copy, &["proto", "server", proto]);
        assert!(
            out.ok().contains("nothing to change"),
            "{example}: {}",
            out.stdout
        );
    }
}
