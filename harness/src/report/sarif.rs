//! SARIF 2.1.0: one rule per check run, one result per check that failed, warned or erred.

use super::Report;
use crate::catalogue::Status;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Renders the SARIF log.
pub fn render(report: &Report) -> String {
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    for r in report.suites.iter().flat_map(|s| &s.results) {
        rules.entry(r.id.as_str()).or_insert_with(|| {
            json!({
                "id": r.id,
                "name": r.title,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.requirement},
                "properties": {"level": r.level.to_string(), "source": r.source, "section": r.section},
            })
        });
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut results = Vec::new();
    for suite in &report.suites {
        for r in &suite.results {
            let level = match r.status {
                Status::Fail | Status::Error => "error",
                Status::Warn => "warning",
                _ => continue,
            };
            let url = r
                .exchanges
                .first()
                .map_or(suite.target.clone(), |e| e.url.clone());
            results.push(json!({
                "ruleId": r.id,
                "ruleIndex": index[r.id.as_str()],
                "level": level,
                "message": {"text": format!("[{}] {}: {}", r.level, r.title, r.message)},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": url}},
                    "logicalLocations": [{"name": r.id, "kind": "resource"}],
                }],
                "properties": {"status": r.status.to_string(), "suite": suite.suite},
            }));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "paycheck",
                "version": report.paycheck,
                "informationUri": "https://github.com/paycheck-dev/paycheck",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
            "properties": {"incomplete": report.incomplete, "strict": report.strict},
        }],
    });
    serde_json::to_string_pretty(&log).expect("SARIF serialises") + "\n"
}
