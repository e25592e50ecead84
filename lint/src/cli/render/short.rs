//! `path:line:col: level[rule]: message`, one line per finding.

use super::{printable, severity_word};
use crate::cli::Analysis;

pub fn render(analysis: &Analysis) -> String {
    let mut out = String::new();
    for f in &analysis.findings {
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            printable(&f.path).replace('\n', " "),
            f.region.start.line,
            f.region.start.column,
            severity_word(f.level),
            f.rule.id,
            printable(&f.message).replace('\n', " "),
        ));
    }
    for p in &analysis.problems {
        let at = p
            .position
            .map(|at| format!("{}:{}:", at.line, at.column))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}:{at} error[{}]: {}\n",
            printable(&p.path).replace('\n', " "),
            p.kind.as_str(),
            printable(&p.message).replace('\n', " ")
        ));
    }
    out
}
