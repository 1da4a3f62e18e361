use apiary_load::profile::Profile;

fn error_of(text: &str) -> apiary_load::profile::ProfileError {
    Profile::parse(text, "shop.toml").expect_err("the profile is invalid")
}

const HEAD: &str = "[run]\nrate = 5\n\n[[journey]]\nname = \"browse\"\nweight = 3\nsteps = [\n";

#[test]
fn an_unknown_action_is_reported_at_its_line_and_column() {
    let text = format!("{HEAD}  {{ action = \"landing\" }},\n  {{ action = \"chekout\" }},\n]\n");
    let e = error_of(&text);
    assert_eq!((e.line, e.column), (9, 14), "{e}");
    assert!(
        e.message.contains("chekout") && e.message.contains("checkout"),
        "{e}"
    );
    let shown = e.to_string();
    assert!(shown.starts_with("shop.toml:9:14: "), "{shown}");
    assert!(shown.contains("{ action = \"chekout\" }"), "{shown}");
}

#[test]
fn semantic_errors_name_the_offending_value() {
    let bad_think = format!(
        "{HEAD}  {{ action = \"landing\" }},\n  {{ action = \"browse\", think = \"2 sec\" }},\n]\n"
    );
    let e = error_of(&bad_think);
    assert_eq!(e.line, 9, "{e}");
    assert!(e.message.contains("2 sec"), "{e}");

    let misplaced = format!("{HEAD}  {{ action = \"landing\", card = \"valid\" }},\n]\n");
    let e = error_of(&misplaced);
    assert_eq!(e.line, 8, "{e}");
    assert!(
        e.message
            .contains("`card` does not apply to a landing step"),
        "{e}"
    );

    let zero_weight = "[[journey]]\nname = \"a\"\nweight = 0\nsteps = [{ action = \"landing\" }]\n";
    let e = error_of(zero_weight);
    assert_eq!((e.line, e.column), (3, 10), "{e}");

    let unknown_key = "[run]\nrate = 5\nburst = 3\n";
    let e = error_of(unknown_key);
    assert_eq!(e.line, 3, "{e}");

    let twice = "[[journey]]\nname = \"a\"\nweight = 1\nsteps = [{ action = \"landing\" }]\n[[journey]]\nname = \"a\"\nweight = 1\nsteps = [{ action = \"landing\" }]\n";
    assert_eq!(error_of(twice).line, 6);
}

#[test]
fn a_syntax_error_names_its_line() {
    let e = error_of("[run]\nrate = 5\nshape = \"ramp:1:5:10s\n");
    assert_eq!(e.line, 3, "{e}");
}

#[test]
fn the_binary_exits_2_with_the_place_of_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        format!("{HEAD}  {{ action = \"landing\" }},\n  {{ action = \"add_to_cart\", quantity = \"0..50\" }},\n]\n"),
    )
    .expect("write");
    for args in [
        vec!["validate".to_owned(), file.display().to_string()],
        vec![
            "--profile".to_owned(),
            file.display().to_string(),
            "--control".into(),
            "off".into(),
        ],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_apiary-load"))
            .args(&args)
            .env("OTEL_SDK_DISABLED", "true")
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("bad.toml:9:"), "{stderr}");
        assert!(stderr.contains("must be from 1 to 10"), "{stderr}");
    }
}
