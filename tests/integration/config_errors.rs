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

fn check(setup: &Setup) -> crate::util::Output {
    let mut cmd = std::process::Command::new(crate::util::bin());
    cmd.arg("--cache-dir")
        .arg(crate::util::cache_dir())
        .arg("check")
        .arg(setup.config_path());
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::util::wait(
        cmd.spawn()
            .map(crate::util::ChildGuard::new)
            .expect("start"),
        Duration::from_secs(60),
    )
}

#[test]
fn check_reports_syntax_errors_and_bad_classes_without_running() {
    let setup = Setup::new(
        r#"
[[source]]
name = "good"
script = "printer.py"
class = "Printer"

[[source]]
name = "syntax"
script = "bad.py"
class = "Bad"

[[source]]
name = "not-a-source"
class = "Plain"
code = "class Plain:\n    pass\n"
"#,
    )
    .script("printer.py")
    .file(
        "bad.py",
        "from syslogng import LogSource\n\nclass Bad(LogSource)\n    pass\n",
    );
    let out = check(&setup);
    assert!(!out.status.success());
    assert!(out.stdout.contains("ok      good"), "{}", out.stdout);
    assert!(
        out.stdout.contains("bad.py\", line 3") && out.stdout.contains('^'),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("not a subclass of syslogng.LogSource"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 of 3 sources sound"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("hello from print"),
        "check runs nothing: {}",
        out.stdout
    );
    assert!(
        !out.stderr.contains("hello from print"),
        "check runs nothing: {}",
        out.stderr
    );
}

#[test]
fn check_passes_a_sound_config() {
    let setup =
        Setup::new("[[source]]\nname = \"p\"\nscript = \"printer.py\"\nclass = \"Printer\"\n")
            .script("printer.py");
    let out = check(&setup);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("1 of 1 sources sound"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_reports_toml_errors_with_line_and_column() {
    let setup = Setup::new("[[source]]\nname = \"a\"\nclass = A\n");
    let out = check(&setup);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("line 3") && out.stderr.contains("column"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_names_packages_that_need_a_native_extension() {
    let source = |name: &str| {
        format!(
            "[[source]]\nname = \"{name}\"\nclass = \"S\"\npython_path = [\"pkgs\"]\ncode = \"\"\"\nfrom syslogng import LogSource\nclass S(LogSource):\n    def run(self): pass\n    def request_exit(self): pass\n\"\"\"\n"
        )
    };
    let setup = Setup::new(&source("tenant"))
        .dir("pkgs/needsnative")
        .dir("pkgs/fallback")
        .file("pkgs/needsnative/__init__.py", "from ._core import speed\n")
        .file(
            "pkgs/needsnative/_core.cpython-311-x86_64-linux-gnu.so",
            "not wasm",
        )
        .file(
            "pkgs/fallback/__init__.py",
            "try:\n    from ._speed import speed\nexcept ImportError:\n    def speed(): return 'pure'\n",
        )
        .file("pkgs/fallback/_speed.cpython-311-x86_64-linux-gnu.so", "not wasm")
        .file("pkgs/plain.py", "x = 1\n");
    let out = check(&setup);
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(
        out.stdout.contains("FAILED  tenant: python_path ")
            && out.stdout.contains(
                "`needsnative` needs a native extension, which cannot load in the sandbox (needsnative/_core.cpython-311-x86_64-linux-gnu.so): ModuleNotFoundError"
            ),
        "{}",
        out.stdout
    );
    // With the one that cannot load gone, the fallback is only a note.
    std::fs::remove_dir_all(setup.path("pkgs/needsnative")).expect("rm");
    let out = check(&setup);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "note: python_path "
        ) && out.stdout.contains("`fallback` ships native extensions that cannot load in the sandbox (fallback/_speed.cpython-311-x86_64-linux-gnu.so); it imports with its pure-Python fallback"),
        "{}",
        out.stdout
    );
}
