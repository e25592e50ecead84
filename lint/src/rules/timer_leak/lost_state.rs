//! (c) What a starved timer branch loses: the state the traffic builds up.
//!
//! A timer restarted by traffic is a bug when its branch is the only thing
//! that takes away what the traffic accumulates: a batch, a pending list,
//! an unsynced buffer, a cache of entries to expire. Under steady traffic
//! that state grows and waits (and is lost on a crash) for as long as the
//! traffic lasts. A branch whose work does not take from such state — a
//! stall heartbeat that reports on the stream it waits on, an idle
//! keepalive, a check that the traffic path also makes — loses nothing
//! when traffic restarts it: being quiet while traffic flows is what it is
//! for.

use super::*;

/// Methods that add to a collection: what traffic fills.
const ADDING_METHODS: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "insert",
    "extend",
    "append",
];

/// The collection a method call adds to: `batch.push(x)` → `batch`,
/// `self.pending.insert(k, v)` → `self.pending`.
fn added_to(expr: &Expr) -> Option<(&ExprMethodCall, String)> {
    let Expr::MethodCall(call) = expr else {
        return None;
    };
    if !ADDING_METHODS.contains(&call.method.to_string().as_str()) {
        return None;
    }
    let key = state_key(&call.receiver)?;
    Some((call, key))
}

/// A variable or a field path from a variable or `self`: `batch`,
/// `self.pending`, `journal.buffered`, `self.state.queue`. Not `self` alone.
pub(super) fn state_key(expr: &Expr) -> Option<String> {
    match peel_future(expr, None) {
        Expr::Field(f) => {
            let base = match peel_future(&f.base, None) {
                Expr::Path(p) if p.path.is_ident("self") => "self".to_string(),
                other => state_key(other)?,
            };
            match &f.member {
                syn::Member::Named(name) => Some(format!("{base}.{name}")),
                syn::Member::Unnamed(i) => Some(format!("{base}.{}", i.index)),
            }
        }
        other => variable(other),
    }
}

/// The key of a method's receiver: `self`, or a [`state_key`].
fn receiver_key(receiver: &Expr) -> Option<String> {
    match peel_future(receiver, None) {
        Expr::Path(p) if p.path.is_ident("self") => Some("self".to_string()),
        other => state_key(other),
    }
}

/// Whether `key` names `state` or a part of it (`self.pending` and
/// `self.pending.items`).
fn covers(key: &str, state: &str) -> bool {
    key == state || state.starts_with(&format!("{key}.")) || key.starts_with(&format!("{state}."))
}

impl<'a> Walker<'a, '_> {
    /// The collections that the loop body adds to outside `timer_arm`: the
    /// state the traffic builds up.
    pub(super) fn traffic_built(&self, timer_arm: &ArmBody<'a>) -> Vec<String> {
        let mut own: HashSet<*const Expr> = HashSet::new();
        timer_arm.any(self.bodies, |e| {
            own.insert(e as *const Expr);
            false
        });
        let mut built = Vec::new();
        any_expr(self.frame().body, self.bodies, |e| {
            if !own.contains(&(e as *const Expr)) {
                let mut keys: Vec<String> = added_to(e).map(|(_, key)| key).into_iter().collect();
                if let Expr::MethodCall(call) = e {
                    keys.extend(self.added_by_method(call));
                }
                for key in keys {
                    if !built.contains(&key) {
                        built.push(key);
                    }
                }
            }
            false
        });
        built
    }

    /// `recv.method(..)` where `method` is a function of this file that adds
    /// to `self.<field>`: the `recv.<field>` it fills.
    fn added_by_method(&self, call: &ExprMethodCall) -> Vec<String> {
        let Some(receiver) = receiver_key(&call.receiver) else {
            return Vec::new();
        };
        let Some(bodies) = self.methods.get(&call.method.to_string()) else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for body in bodies {
            any_expr(*body, self.bodies, |e| {
                if let Some((_, key)) = added_to(e) {
                    if let Some(field) = key.strip_prefix("self.") {
                        keys.push(format!("{receiver}.{field}"));
                    }
                }
                false
            });
        }
        keys
    }

    /// Which of `built` the timer's branch takes from: it reads the state
    /// other than to add to it (`flush(&mut batch)`, `self.pending.clear()`,
    /// `!batch.is_empty()`), or calls a method of this file whose body reads
    /// it (`self.flush()` where `flush` takes `self.pending`).
    pub(super) fn drained_state(
        &self,
        timer_arm: &ArmBody<'a>,
        built: &[String],
    ) -> Option<String> {
        if built.is_empty() {
            return None;
        }
        // The receivers of the branch's own adds, down to their roots: not reads.
        let mut adds: HashSet<*const Expr> = HashSet::new();
        timer_arm.any(self.bodies, |e| {
            if let Some((call, _)) = added_to(e) {
                let mut at = &*call.receiver;
                loop {
                    adds.insert(at as *const Expr);
                    at = match at {
                        Expr::Field(f) => &f.base,
                        Expr::Reference(r) => &r.expr,
                        Expr::Paren(p) => &p.expr,
                        _ => break,
                    };
                }
            }
            false
        });
        let mut found = None;
        timer_arm.any(self.bodies, |e| {
            if let Some(key) = state_key(e) {
                if !adds.contains(&(e as *const Expr)) {
                    found = built.iter().find(|state| covers(&key, state)).cloned();
                }
            }
            if found.is_none() {
                if let Expr::MethodCall(call) = e {
                    found = self.read_by_method(call, built, 2);
                }
            }
            found.is_some()
        });
        found
    }

    /// `recv.method(..)` where `method` is a function of this file whose
    /// body reads `self.<field>` and `recv.<field>` is in `built`.
    fn read_by_method(&self, call: &ExprMethodCall, built: &[String], depth: u8) -> Option<String> {
        if depth == 0 {
            return None;
        }
        let receiver = receiver_key(&call.receiver)?;
        let bodies = self.methods.get(&call.method.to_string())?;
        bodies.iter().find_map(|body| {
            let mut found = None;
            any_expr(*body, self.bodies, |e| {
                if let Some(key) = state_key(e) {
                    if let Some(field) = key.strip_prefix("self.") {
                        let key = format!("{receiver}.{field}");
                        found = built.iter().find(|state| covers(&key, state)).cloned();
                    }
                }
                if found.is_none() && receiver == "self" {
                    if let Expr::MethodCall(inner) = e {
                        if matches!(&*inner.receiver, Expr::Path(p) if p.path.is_ident("self")) {
                            found = self.read_by_method(inner, built, depth - 1);
                        }
                    }
                }
                found.is_some()
            });
            found
        })
    }
}
