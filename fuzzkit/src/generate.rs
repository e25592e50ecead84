//! Rust source generated from arbitrary bytes, for fuzzing and property
//! tests of lifecycle-lint.
//!
//! Random bytes almost never get past the parser, so they never reach the
//! rules. This generator turns bytes into a whole file that `syn` accepts and
//! that is dense in what the rules look for: scope guards and `defer!`,
//! `Drop` impls that delete, `select!` loops with timers, spawned sleeping
//! tasks, early returns in reapers, pointer and value comparisons of
//! assignments, `#[quorum_gated_delete(..)]` with good and bad arguments,
//! test modules. Layout varies too (tabs, CRLF, a byte-order mark, non-ASCII
//! identifiers, control characters and ANSI escapes inside string literals
//! and comments), so positions and output escaping are exercised as well.
//!
//! Every choice is drawn from an [`Unstructured`]: the fuzzer mutates bytes
//! and the generated program changes structurally; an exhausted input just
//! takes the first choice everywhere, so any byte string gives a program.

use arbitrary::{Result, Unstructured};

/// How deep expressions and blocks nest (the parser and rules get their
/// deep-nesting tests elsewhere; here depth would only slow the fuzzer).
const MAX_DEPTH: u32 = 4;

/// A whole source file, as bytes (it may start with a byte-order mark).
pub fn source_file(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut g = Gen {
        u,
        out: String::new(),
        indent: 0,
        tab: false,
    };
    g.tab = g.u.ratio(1, 4)?;
    let crlf = g.u.ratio(1, 4)?;
    let bom = g.u.ratio(1, 8)?;
    g.file()?;
    let text = if crlf {
        g.out.replace('\n', "\r\n")
    } else {
        g.out
    };
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if bom {
        bytes.extend_from_slice("\u{feff}".as_bytes());
    }
    bytes.extend_from_slice(text.as_bytes());
    Ok(bytes)
}

struct Gen<'u, 'b> {
    u: &'u mut Unstructured<'b>,
    out: String,
    indent: usize,
    tab: bool,
}

const FN_NAMES: &[&str] = &[
    "delete_not_active",
    "reap_idle",
    "expire_leases",
    "on_inactivity_timer",
    "remove_consumer",
    "cleanup",
    "run",
    "handle",
    "sweep",
    "propose_delete",
    "check_ownership",
    "créer",
];
const RECEIVERS: &[&str] = &["self", "consumer", "c", "meta", "server", "lease", "o"];
const METHODS: &[&str] = &[
    "delete",
    "forward_proposal",
    "propose",
    "remove_lease",
    "reset",
    "rearm",
    "key",
    "clone",
    "tick",
    "recv",
    "is_closed",
    "purge",
    "unregister_consumer",
    "client_write",
    "into_inner",
];
const PATHS: &[&str] = &[
    "scopeguard::guard",
    "tokio::time::sleep",
    "tokio::time::interval",
    "sleep",
    "interval",
    "tokio::spawn",
    "thread::spawn",
    "thread::sleep",
    "Arc::ptr_eq",
    "std::ptr::eq",
    "Duration::from_secs",
    "drop",
    "std::mem::forget",
    "ScopeGuard::into_inner",
    "Instant::now",
    "tokio::time::timeout",
];
const MACROS: &[&str] = &[
    "warn",
    "info",
    "error",
    "debug",
    "println",
    "tracing::warn",
    "log::error",
];
const FIELDS: &[&str] = &[
    "assignment",
    "ca",
    "nca",
    "lease",
    "cluster",
    "meta",
    "placement",
    "key",
];
const TYPES: &[&str] = &[
    "Consumer",
    "Lease",
    "Guard",
    "Reaper",
    "Session",
    "Assignment",
];
const TIMER_FUTURES: &[&str] = &[
    "sleep(Duration::from_secs(1))",
    "tokio::time::sleep(ttl)",
    "&mut deadline",
    "tick.tick()",
    "rx.recv()",
    "shutdown.cancelled()",
    "tokio::time::sleep_until(deadline)",
];
const TIMER_STATEMENTS: &[&str] = &[
    "sleep(ttl).await;",
    "thread::sleep(ttl);",
    "let mut tick = interval(Duration::from_secs(5));",
    "let mut tick = tokio::time::interval(period);",
    "tick.tick().await;",
    "let deadline = sleep(ttl);",
    "tokio::pin!(deadline);",
    "deadline.as_mut().reset(Instant::now() + ttl);",
    "let _ = tokio::time::timeout(ttl, rx.recv()).await;",
    "let t = tokio::spawn(async move { sleep(ttl).await; tx.send(key).await });",
];
/// Text that must never reach a terminal or a workflow command unescaped.
const HOSTILE_TEXT: &[&str] = &[
    "\u{1b}[2J\u{1b}[31mred",
    "::set-output name=x::y",
    "%0A::error::x",
    "tab\there",
    "\u{7}bell\u{8}",
    "é😀",
    "",
];

impl Gen<'_, '_> {
    fn pick(&mut self, choices: &[&'static str]) -> Result<&'static str> {
        Ok(*self.u.choose(choices)?)
    }

    fn count(&mut self, max: u32) -> Result<u32> {
        self.u.int_in_range(0..=max)
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.out.push_str(if self.tab { "\t" } else { "    " });
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn file(&mut self) -> Result<()> {
        if self.u.ratio(1, 3)? {
            let text = self.pick(HOSTILE_TEXT)?;
            self.line(&format!("// {}", text.replace(['\n', '\r'], " ")));
        }
        self.line("use std::time::Duration;");
        for _ in 0..=self.count(5)? {
            self.item(0)?;
        }
        Ok(())
    }

    fn item(&mut self, depth: u32) -> Result<()> {
        match self.u.int_in_range(0..=6)? {
            0 | 1 => self.function(depth),
            2 => {
                let ty = self.pick(TYPES)?;
                self.line(&format!("impl {ty} {{"));
                self.indent += 1;
                for _ in 0..=self.count(2)? {
                    self.function(depth + 1)?;
                }
                self.indent -= 1;
                self.line("}");
                Ok(())
            }
            3 => {
                let ty = self.pick(TYPES)?;
                self.line(&format!("impl Drop for {ty} {{"));
                self.indent += 1;
                self.line("fn drop(&mut self) {");
                self.indent += 1;
                self.statements(depth + 2)?;
                self.indent -= 1;
                self.line("}");
                self.indent -= 1;
                self.line("}");
                Ok(())
            }
            4 => {
                let ty = self.pick(TYPES)?;
                self.line(&format!("trait {ty}Ops {{"));
                self.indent += 1;
                self.function(depth + 1)?;
                self.indent -= 1;
                self.line("}");
                Ok(())
            }
            5 if depth < MAX_DEPTH => {
                let attr = if self.u.arbitrary()? {
                    "#[cfg(test)]"
                } else {
                    ""
                };
                self.line(&format!("{attr} mod inner {{"));
                self.indent += 1;
                self.item(depth + 1)?;
                self.indent -= 1;
                self.line("}");
                Ok(())
            }
            _ => {
                let ty = self.pick(TYPES)?;
                self.line(&format!(
                    "pub struct {ty} {{ key: String, assignment: Arc<Assignment> }}"
                ));
                Ok(())
            }
        }
    }

    fn function(&mut self, depth: u32) -> Result<()> {
        match self.u.int_in_range(0..=5)? {
            0 => self.line("#[quorum_gated_delete]"),
            1 => {
                let args = self.pick(&[
                    "allow(silent_early_return, reason = \"reported elsewhere\")",
                    "allow(deferred_delete)",
                    "allow(no_such_rule, reason = \"x\")",
                    "delete = \"^zap$\"",
                    "propose = \"(\"",
                    "log = \"^say$\", bogus = 1",
                ])?;
                self.line(&format!("#[quorum_gated_delete({args})]"));
            }
            2 => self.line("#[test]"),
            _ => {}
        }
        let name = self.pick(FN_NAMES)?;
        let asyncness = if self.u.arbitrary()? { "async " } else { "" };
        let receiver = if self.u.arbitrary()? { "&self, " } else { "" };
        self.line(&format!(
            "{asyncness}fn {name}({receiver}consumer: Arc<Consumer>, key: &str) -> Result<(), Error> {{"
        ));
        self.indent += 1;
        self.statements(depth + 1)?;
        self.indent -= 1;
        self.line("}");
        Ok(())
    }

    fn statements(&mut self, depth: u32) -> Result<()> {
        for _ in 0..=self.count(4)? {
            self.statement(depth)?;
        }
        Ok(())
    }

    fn block(&mut self, head: &str, depth: u32, tail: &str) -> Result<()> {
        self.line(&format!("{head} {{"));
        self.indent += 1;
        self.statements(depth + 1)?;
        self.indent -= 1;
        self.line(&format!("}}{tail}"));
        Ok(())
    }

    fn statement(&mut self, depth: u32) -> Result<()> {
        let nested = depth < MAX_DEPTH;
        match self.u.int_in_range(0..=17)? {
            0 => {
                let e = self.expr(depth)?;
                self.line(&format!(
                    "let _guard = scopeguard::guard(consumer.clone(), |c| {e});"
                ));
            }
            1 if nested => self.block("defer!", depth, "")?,
            2 => {
                let field = self.pick(FIELDS)?;
                let returned = self.returned()?;
                self.line(&format!(
                    "let Some(x) = &server.{field} else {{ return{returned}; }};"
                ));
            }
            3 if nested => {
                let cond = self.expr(depth)?;
                self.block(&format!("if {cond}"), depth, "")?;
            }
            4 if nested => self.block("loop", depth, "")?,
            5 if nested => {
                let e = self.expr(depth)?;
                self.block(&format!("while let Some(m) = {e}"), depth, "")?;
            }
            6 if nested => self.select(depth)?,
            7 if nested => {
                let spawn = self.pick(&["tokio::spawn(async move", "thread::spawn(move ||"])?;
                self.block(spawn, depth, ");")?;
            }
            8 => {
                let returned = self.returned()?;
                self.line(&format!("return{returned};"));
            }
            9 => {
                let mac = self.pick(MACROS)?;
                let text = self.pick(HOSTILE_TEXT)?;
                self.line(&format!("{mac}!(\"{} {{}}\", key);", text.escape_default()));
            }
            10 => {
                let (a, b) = (self.pick(FIELDS)?, self.pick(FIELDS)?);
                let compare = self.pick(&["Arc::ptr_eq", "std::ptr::eq", "=="])?;
                let test = if compare == "==" {
                    format!("self.{a} == other.{b}")
                } else {
                    format!("{compare}(&self.{a}, &other.{b})")
                };
                self.line(&format!("if {test} {{ return Ok(()); }}"));
            }
            11 => {
                let e = self.expr(depth)?;
                self.line(&format!("let mut t = {e};"));
            }
            12 if nested => {
                let e = self.expr(depth)?;
                self.line(&format!("match {e} {{"));
                self.indent += 1;
                self.block("Ok(v) =>", depth + 1, ",")?;
                self.line("Err(_) => return Ok(()),");
                self.indent -= 1;
                self.line("}");
            }
            13 => {
                // A raw control character inside a string literal is valid Rust.
                let text = self.pick(HOSTILE_TEXT)?;
                self.line(&format!("let s = \"{}\";", text.replace('"', "'")));
            }
            14 if nested => self.item(depth + 1)?,
            15 | 16 => {
                let statement = self.pick(TIMER_STATEMENTS)?;
                self.line(statement);
            }
            _ => {
                let e = self.expr(depth)?;
                self.line(&format!("{e};"));
            }
        }
        Ok(())
    }

    fn returned(&mut self) -> Result<&'static str> {
        self.pick(&["", " Ok(())", " Err(Error::Missing)", " false"])
    }

    fn select(&mut self, depth: u32) -> Result<()> {
        let mac = self.pick(&["tokio::select!", "select!", "futures::select!"])?;
        self.line(&format!("{mac} {{"));
        self.indent += 1;
        if self.u.arbitrary()? {
            self.line("biased;");
        }
        for _ in 0..=self.count(2)? {
            let future = if self.u.arbitrary()? {
                self.pick(TIMER_FUTURES)?.to_string()
            } else {
                self.expr(depth)?
            };
            let pattern = self.pick(&["_", "Some(m)", "msg", "Ok(v)"])?;
            self.block(&format!("{pattern} = {future} =>"), depth + 1, "")?;
        }
        self.indent -= 1;
        self.line("}");
        Ok(())
    }

    fn expr(&mut self, depth: u32) -> Result<String> {
        if depth >= MAX_DEPTH {
            return self.leaf();
        }
        Ok(match self.u.int_in_range(0..=7)? {
            0 => {
                let recv = self.pick(RECEIVERS)?;
                let method = self.pick(METHODS)?;
                let arg = self.expr(depth + 1)?;
                format!("{recv}.{method}({arg})")
            }
            1 => {
                let path = self.pick(PATHS)?;
                let arg = self.expr(depth + 1)?;
                format!("{path}({arg})")
            }
            2 => format!("{}.await", self.expr(depth + 1)?),
            3 => format!("{}?", self.expr(depth + 1)?),
            4 => format!("async move {{ {} }}", self.expr(depth + 1)?),
            5 => {
                let (a, b) = (self.expr(depth + 1)?, self.expr(depth + 1)?);
                let op = self.pick(&["==", "!=", "&&", "+"])?;
                format!("({a} {op} {b})")
            }
            6 => format!("|x| {}", self.expr(depth + 1)?),
            _ => self.leaf()?,
        })
    }

    fn leaf(&mut self) -> Result<String> {
        Ok(match self.u.int_in_range(0..=4)? {
            0 => self.pick(RECEIVERS)?.to_string(),
            1 => format!(
                "Duration::from_millis({})",
                self.u.int_in_range(0..=u16::MAX)?
            ),
            2 => format!("self.{}", self.pick(FIELDS)?),
            3 => "key".to_string(),
            _ => "()".to_string(),
        })
    }
}
