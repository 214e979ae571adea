use super::*;

const GOOD: &str = r#"
id = "replay/again"
suites = ["x402-v2"]
title = "t"
level = "MUST"
requirement = "r"
source = "s"
needs = ["facilitator"]

[[step]]
name = "challenge"
request = { route = "paid" }
expect = { status = 402 }

[[step]]
name = "pay"
request = { route = "paid", pay = { offer = "challenge", wrong = "underpaid" } }
expect = { status = 402 }
"#;

fn error_of(text: &str) -> ScenarioError {
    parse("s.toml", text).unwrap_err()
}

#[test]
fn a_good_file_parses_into_one_check_per_suite() {
    let s = parse("s.toml", GOOD).unwrap();
    assert_eq!(
        s.check(crate::protocol::Dialect::X402V2.into()).unwrap().id,
        "x402-v2/replay/again"
    );
    assert!(s.check(crate::protocol::Dialect::X402V1.into()).is_none());
}

#[test]
fn a_misspelt_field_names_its_line_and_column() {
    let e = error_of(&GOOD.replace(
        "expect = { status = 402 }\n\n[[step]]",
        "expect = { stauts = 402 }\n\n[[step]]",
    ));
    assert_eq!((e.line, e.file.as_str()), (13, "s.toml"), "{e}");
    assert!(
        e.message.contains("stauts") && e.message.contains("expected"),
        "{e}"
    );
}

#[test]
fn each_mistake_points_at_its_place() {
    let cases = [
        (GOOD.replace("\"MUST\"", "\"MAYBE\""), 5, "MUST, SHOULD"),
        (GOOD.replace("\"x402-v2\"", "\"x402\""), 3, "x402-v2"),
        (
            GOOD.replace("offer = \"challenge\"", "offer = \"nope\""),
            17,
            "names no earlier step",
        ),
        (GOOD.replace("\"underpaid\"", "\"cheap\""), 17, "underpaid"),
        (
            GOOD.replace(
                "route = \"paid\" }\nexpect = { status = 402 }\n\n[[step]]",
                "route = \"premium\" }\nexpect = { status = 402 }\n\n[[step]]",
            ),
            12,
            "route 'premium'",
        ),
        (
            GOOD.replace("name = \"pay\"", "name = \"challenge\""),
            16,
            "comes earlier",
        ),
        (
            GOOD.replace("\"replay/again\"", "\"Replay Again\""),
            2,
            "kebab-case",
        ),
    ];
    for (text, line, words) in cases {
        let e = error_of(&text);
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains(words), "{e}");
        assert!(e.column >= 1);
    }
}

#[test]
fn every_file_in_scenarios_is_built_in() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut on_disk = Vec::new();
    for dir in std::fs::read_dir(root.join("scenarios")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() && dir.file_name().unwrap() != "load" {
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "toml") {
                    on_disk.push(f.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = builtin::FILES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "list every scenario file in harness/src/scenario/builtin.rs"
    );
    assert_eq!(super::builtin().len(), listed.len());
}

#[test]
fn every_built_in_scenario_matches_the_published_schema() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/scenario.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (name, text) in builtin::FILES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .chain([("GOOD".into(), GOOD.into())])
    {
        let value: toml::Value = toml::from_str(&text).unwrap();
        let json = serde_json::to_value(value).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
    let bad: toml::Value = toml::from_str(&GOOD.replace("\"MUST\"", "\"MAYBE\"")).unwrap();
    assert!(!validator.is_valid(&serde_json::to_value(bad).unwrap()));
}

#[test]
fn x402_only_steps_are_refused_in_l402_scenarios() {
    let l402 = GOOD.replace(r#"suites = ["x402-v2"]"#, r#"suites = ["x402-v2", "l402"]"#);
    let e = error_of(&l402).to_string();
    assert!(
        e.contains("pay.wrong") && e.contains("L402 suite") && e.contains("s.toml:"),
        "{e}"
    );
    let reusable = l402.replace(", wrong = \"underpaid\"", "");
    let s = parse("s.toml", &reusable).unwrap();
    assert_eq!(
        s.check(crate::protocol::Suite::L402(
            crate::protocol::L402Profile::Spec
        ))
        .unwrap()
        .id,
        "l402/replay/again"
    );
}
