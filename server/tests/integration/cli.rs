//! The `linli` binary's command line: bad settings are refused with a clear message
//! before anything starts, and `user add` creates accounts or says why not.

use std::process::Output;

fn linli(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    crate::support::run_linli(args, env, stdin)
}

use crate::support::stderr;

fn db(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("linli.db").display())
}

#[test]
fn an_unparsable_address_is_refused_by_flag_and_by_environment() {
    let out = linli(&["serve", "--addr", "localhost:eighty"], &[], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid value 'localhost:eighty' for '--addr"),
        "{}",
        stderr(&out)
    );
    let out = linli(&["serve"], &[("LINLI_ADDR", "999.1.1.1:80")], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("999.1.1.1:80"), "{}", stderr(&out));
}

#[test]
fn an_unknown_database_url_is_refused_with_the_forms_that_work() {
    let out = linli(
        &["serve", "--database-url", "mysql://root@localhost/linli"],
        &[],
        "",
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("is not a database URL Linli knows") && err.contains("sqlite://"),
        "{err}"
    );
}

#[test]
fn an_unreachable_database_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let url = format!("sqlite://{}/linli.db", blocker.display());
    let out = linli(
        &[
            "serve",
            "--no-static",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &url,
        ],
        &[],
        "",
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("linli: error:") && err.contains(&blocker.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_missing_app_folder_is_refused_with_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve_from = |static_dir: &std::path::Path| {
        let out = linli(
            &[
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                &db(&dir),
                "--static-dir",
                static_dir.to_str().unwrap(),
            ],
            &[],
            "",
        );
        assert!(!out.status.success());
        stderr(&out)
    };
    let missing = dir.path().join("no-dist");
    let err = serve_from(&missing);
    assert!(
        err.contains("has no index.html") && err.contains("make app"),
        "{err}"
    );
    // A plain `trunk build` of the staff app alone: the public page is missing.
    let staff_only = dir.path().join("staff-only");
    std::fs::create_dir(&staff_only).unwrap();
    std::fs::write(staff_only.join("index.html"), "<!doctype html>").unwrap();
    let err = serve_from(&staff_only);
    assert!(
        err.contains("has no public/index.html") && err.contains("make app"),
        "{err}"
    );
}

#[test]
fn user_add_creates_an_account_once_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = db(&dir);
    let add = |args: &[&str], password: &str| {
        let mut all = vec!["user", "add"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database-url", &url]);
        linli(&all, &[], password)
    };
    let out = add(
        &["chen-commander", "--role", "commander"],
        "a-long-password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created commander `chen-commander`"));

    let partner = add(
        &["gas-co", "--role", "partner", "--org", "utilities"],
        "a-long-password\n",
    );
    assert!(partner.status.success(), "{}", stderr(&partner));
    assert!(
        String::from_utf8_lossy(&partner.stdout).contains("created partner `gas-co` of utilities")
    );

    let again = add(&["chen-commander", "--role", "viewer"], "a-long-password\n");
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );

    let cases: [(&[&str], &str, &str); 10] = [
        (
            &["li", "--role", "admin"],
            "a-long-password\n",
            "use commander, grid-worker, viewer or partner",
        ),
        (
            &["li", "--role", "partner"],
            "a-long-password\n",
            "a partner needs its organisation",
        ),
        (
            &["li", "--role", "partner", "--org", "fire-brigade"],
            "a-long-password\n",
            "use one of community-committee, property-management",
        ),
        (
            &["li", "--role", "viewer", "--org", "police"],
            "a-long-password\n",
            "only partners belong to an organisation",
        ),
        (
            &[
                "li",
                "--role",
                "partner",
                "--org",
                "police",
                "--community",
                "atlantis",
            ],
            "a-long-password\n",
            "no community `atlantis`",
        ),
        (
            &["li", "--role", "grid-worker"],
            "a-long-password\n",
            "needs at least one --community",
        ),
        (
            &["li", "--role", "viewer", "--community", "xingfuli"],
            "a-long-password\n",
            "only grid workers and partners",
        ),
        (
            &["li", "--role", "grid-worker", "--community", "atlantis"],
            "a-long-password\n",
            "no community `atlantis`",
        ),
        (
            &["li", "--role", "viewer"],
            "short\n",
            "at least 8 characters",
        ),
        (
            &["Li Ming", "--role", "viewer"],
            "a-long-password\n",
            "username `Li Ming` is not valid",
        ),
    ];
    for (args, password, expected) in cases {
        let out = add(args, password);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A broker URL holds a password: no message repeats it. Linli's own name at the
/// broker is no gateway's.
#[test]
fn mqtt_passwords_are_never_repeated_and_linli_is_no_gateway() {
    for url in [
        "mqtt://linli:s3cret-pw@",
        "mqtt://linli:s3cret-pw@host:port",
        "mqtts://linli:s3cret-pw@host:8883/x",
        "mqtt://linli:s3cret-pw",
    ] {
        let out = linli(&["serve", "--no-static", "--mqtt-url", url], &[], "");
        assert!(!out.status.success(), "{url}");
        let err = stderr(&out);
        assert!(err.contains("--mqtt-url"), "{err}");
        assert!(!err.contains("s3cret-pw"), "{err}");
    }
    // A CA file that is missing, not PEM, or given for plain MQTT; a client id no
    // broker takes: refused before anything starts, the password not repeated.
    let not_pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_pem.path(), "not a certificate").unwrap();
    let not_pem = not_pem.path().to_str().unwrap();
    for (url, extra, told) in [
        (
            "mqtts://linli:s3cret-pw@host",
            ["--mqtt-ca", "/nonexistent/ca.pem"],
            "--mqtt-ca",
        ),
        (
            "mqtts://linli:s3cret-pw@host",
            ["--mqtt-ca", not_pem],
            "no PEM certificate",
        ),
        (
            "mqtt://linli:s3cret-pw@host",
            ["--mqtt-ca", not_pem],
            "mqtts://",
        ),
        (
            "mqtt://linli:s3cret-pw@host",
            ["--mqtt-client-id", "two words"],
            "--mqtt-client-id",
        ),
        (
            "mqtt://linli:s3cret-pw@host",
            ["--mqtt-client-id", &"x".repeat(24)],
            "--mqtt-client-id",
        ),
    ] {
        let mut args = vec!["serve", "--no-static", "--mqtt-url", url];
        args.extend(extra);
        let out = linli(&args, &[], "");
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(told), "{args:?}: {err}");
        assert!(!err.contains("s3cret-pw"), "{err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = linli(
        &["gateway", "add", "linli", "--database-url", &db(&dir)],
        &[],
        "",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Linli's own name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_in_memory_database_is_refused_and_any_sqlite_path_opens_without_a_panic() {
    // In memory, nothing would be kept (and each pooled connection would be a
    // database of its own): refused with the form that works.
    for url in ["sqlite::memory:", "sqlite://linli.db?mode=memory"] {
        let out = linli(&["serve", "--no-static", "--database-url", url], &[], "");
        assert!(!out.status.success(), "{url}");
        let err = stderr(&out);
        assert!(
            err.contains("in-memory") && err.contains("sqlite://PATH") && !err.contains("panicked"),
            "{url}: {err}"
        );
    }
    // A relative path that reads like a host and port (`db:file`) once made into a URL
    // again: sqlx panicked on it ("generated un-parseable URL"). It is a file name.
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("buildings.geojson");
    std::fs::write(
        &layer,
        r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "b1",
            "properties": {"name": "1栋"}, "geometry": {"type": "Polygon",
            "coordinates": [[[117.3, 31.8], [117.301, 31.8], [117.301, 31.801], [117.3, 31.8]]]}}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
        .args(["import", "buildings"])
        .arg(&layer)
        .args(["--database-url", "sqlite://db:file"])
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("db:file").is_file());
}
