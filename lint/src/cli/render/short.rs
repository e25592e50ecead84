//! `path:line:col: level[rule]: message`, one line per finding.

use super::{severity_word, single_line};
use crate::cli::Analysis;

pub fn render(analysis: &Analysis) -> String {
    let mut out = String::new();
    for f in &analysis.findings {
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            single_line(&f.path),
            f.region.start.line,
            f.region.start.column,
            severity_word(f.level),
            f.rule.id,
            single_line(&f.message),
        ));
    }
    for p in &analysis.problems {
        let at = p
            .position
            .map(|at| format!("{}:{}:", at.line, at.column))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}:{at} error[{}]: {}\n",
            single_line(&p.path),
            p.kind.as_str(),
            single_line(&p.message)
        ));
    }
    out
}
