#[test]
fn a_non_local_target_is_refused_with_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apiary-load"))
        .args([
            "--target",
            "http://192.0.2.10:8000",
            "--control",
            "off",
            "--duration",
            "1s",
        ])
        .env("OTEL_SDK_DISABLED", "true")
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("192.0.2.10") && stderr.contains("--allow-remote"),
        "{stderr}"
    );
}
