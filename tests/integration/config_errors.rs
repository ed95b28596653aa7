//! Bad configurations are refused before anything runs, with errors that
//! name the file, the source and the key.

use std::time::Duration;

use crate::util::Setup;

fn refused(config: &str) -> String {
    let out = Setup::new(config).run(Duration::from_secs(30));
    assert!(!out.status.success(), "accepted: {config}");
    assert!(out.stdout.is_empty());
    out.stderr
}

#[test]
fn unknown_key() {
    let err = refused("[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\nclas = \"B\"\n");
    assert!(
        err.contains("sandlog.toml") && err.contains("clas"),
        "{err}"
    );
}

#[test]
fn toml_syntax_error_has_a_line() {
    let err = refused("[[source]\nname = \"a\"\n");
    assert!(
        err.contains("sandlog.toml") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn missing_script() {
    let err = refused("[[source]]\nname = \"tenant\"\nclass = \"A\"\nscript = \"gone.py\"\n");
    assert!(
        err.contains("tenant") && err.contains("`script`") && err.contains("gone.py"),
        "{err}"
    );
}

#[test]
fn duplicate_source_names() {
    let err = refused(
        "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n",
    );
    assert!(err.contains("already the name of source #1"), "{err}");
}

#[test]
fn no_sources() {
    let err = refused("");
    assert!(err.contains("no [[source]]"), "{err}");
}
