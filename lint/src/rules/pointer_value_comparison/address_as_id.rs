//! Shape: the address of a value re-read from a shared slot kept as its id
//! (`let id = Arc::as_ptr(&conn) as usize;`) and compared later to decide
//! whether the slot still holds the same one.
//!
//! The bug: an address is unique only while its value lives. The slot (an
//! `ArcSwap`, a lock, a watch channel, a map) is replaced by storing a new
//! allocation; once the old value is freed, the allocator may hand its
//! address to the new one, so "replaced?" compares two equal numbers and
//! answers "no" (ABA). ombrac's reconnect guard skipped reconnecting that
//! way and left its client broken. Whatever the value is called (a
//! connection, a configuration, a layout), an address kept as a number is
//! not its identity.
//!
//! Look-alikes that are fine: an id the value or the slot carries (a
//! generation counter bumped on every store, `conn.id()`); `Arc::ptr_eq` on
//! two `Arc`s both still held (neither can be freed while compared, see the
//! other shapes for what they decide); an address of something that is not
//! re-read from a slot (`self as *const _ as usize` as a map key); an
//! address compared with a literal (`0`, a null check).

use std::collections::HashMap;

use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{BinOp, Expr, Pat, Type};

use super::INFO;
use crate::engine::Context;
use crate::finding::Finding;
use crate::syntax::{path_ends_with, snippet};

/// Where a re-read value came from: the holder's text and what it is.
#[derive(Clone)]
struct Slot {
    holder: String,
    what: &'static str,
}

pub(super) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for function in &cx.functions {
        let mut walk = Walk {
            reread: HashMap::new(),
            addresses: HashMap::new(),
            out: &mut *out,
        };
        walk.visit_block(function.body);
    }
}

struct Walk<'o> {
    /// Locals bound to a value re-read from a slot.
    reread: HashMap<String, Slot>,
    /// Locals bound to the address of such a value, as a number or pointer.
    addresses: HashMap<String, (Slot, String)>,
    out: &'o mut Vec<Finding>,
}

impl<'a> Visit<'a> for Walk<'_> {
    fn visit_local(&mut self, local: &'a syn::Local) {
        if let (Some(name), Some(init)) = (bound_name(&local.pat), &local.init) {
            if let Some(slot) = reread_from(&init.expr) {
                self.reread.insert(name.clone(), slot);
            } else if let Some(slot) = self.address_of_reread(&init.expr) {
                self.addresses.insert(name.clone(), (slot, name));
            }
        }
        visit::visit_local(self, local);
    }

    fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
        if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) {
            let address = [&*b.left, &*b.right]
                .into_iter()
                .find_map(|side| self.kept_address(side).map(|a| (a, side)));
            if let Some(((slot, name), side)) = address {
                let other = if std::ptr::eq(side, &*b.left) {
                    &*b.right
                } else {
                    &*b.left
                };
                if !is_literal(other) {
                    self.out.push(report(b, &name, &slot));
                }
            }
        }
        visit::visit_expr_binary(self, b);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

impl Walk<'_> {
    fn kept_address(&self, expr: &Expr) -> Option<(Slot, String)> {
        let Expr::Path(p) = strip(expr) else {
            return None;
        };
        let ident = p.path.get_ident()?.to_string();
        self.addresses.get(&ident).cloned()
    }

    /// `Arc::as_ptr(&conn) as usize`, `conn.as_ptr() as usize`,
    /// `&*conn as *const _ as usize`, `Arc::as_ptr(&conn)`, where `conn` was
    /// re-read from a slot (a local bound so, or the re-read itself).
    fn address_of_reread(&self, expr: &Expr) -> Option<Slot> {
        let operand = address_operand(expr)?;
        let operand = strip(operand);
        if let Some(slot) = reread_from(operand) {
            return Some(slot);
        }
        let Expr::Path(p) = operand else { return None };
        self.reread.get(&p.path.get_ident()?.to_string()).cloned()
    }
}

/// The value whose address `expr` is: an integer cast of a pointer, or an
/// `Arc::as_ptr`/`Rc::as_ptr` call (a raw address kept past its `Arc`).
fn address_operand(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Paren(e) => address_operand(&e.expr),
        Expr::Cast(cast) if is_integer(&cast.ty) => pointer_of(&cast.expr),
        Expr::MethodCall(m) if m.method == "addr" && m.args.is_empty() => pointer_of(&m.receiver),
        Expr::Call(call) if call.args.len() == 1 => match &*call.func {
            Expr::Path(p)
                if path_ends_with(&p.path, &["Arc", "as_ptr"])
                    || path_ends_with(&p.path, &["Rc", "as_ptr"]) =>
            {
                Some(&call.args[0])
            }
            _ => None,
        },
        _ => None,
    }
}

/// `Arc::as_ptr(&x)`, `x.as_ptr()`, `&*x as *const T`, `.cast()` on top.
fn pointer_of(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Paren(e) => pointer_of(&e.expr),
        Expr::Cast(cast) if matches!(&*cast.ty, Type::Ptr(_)) => match pointer_of(&cast.expr) {
            Some(inner) => Some(inner),
            None => Some(&cast.expr),
        },
        Expr::MethodCall(m) if m.method == "cast" && m.args.is_empty() => pointer_of(&m.receiver),
        Expr::MethodCall(m) if m.method == "as_ptr" && m.args.is_empty() => Some(&m.receiver),
        Expr::Call(call) if call.args.len() == 1 => match &*call.func {
            Expr::Path(p) if path_ends_with(&p.path, &["as_ptr"]) && p.path.segments.len() >= 2 => {
                Some(&call.args[0])
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_integer(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.get_ident().is_some_and(|i| {
        matches!(i.to_string().as_str(), "usize" | "u64" | "u128" | "isize" | "i64")
    }))
}

/// `&x`, `&*x`, `*x`, `(x)`, `x.clone()`: the value meant.
fn strip(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Paren(e) => &e.expr,
            Expr::Group(e) => &e.expr,
            Expr::Reference(e) => &e.expr,
            Expr::Unary(e) if matches!(e.op, syn::UnOp::Deref(_)) => &e.expr,
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => &m.receiver,
            _ => return expr,
        };
    }
}

/// `self.conn.load()`, `self.conn.load_full()`, `rx.borrow()`,
/// `self.slot.read().unwrap()`, `map.get(&k)?`: the slot a value is re-read
/// from, with `.unwrap()`/`?`/`.await`/`.clone()` on top.
fn reread_from(expr: &Expr) -> Option<Slot> {
    let mut expr = expr;
    loop {
        expr = match expr {
            Expr::Paren(e) => &e.expr,
            Expr::Try(e) => &e.expr,
            Expr::Await(e) => &e.base,
            Expr::Reference(e) => &e.expr,
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                let what = match name.as_str() {
                    "load" | "load_full" if m.args.is_empty() => Some("an `ArcSwap`"),
                    "borrow" | "borrow_and_update" if m.args.is_empty() => Some("a watch channel"),
                    "read" | "lock" if m.args.is_empty() => Some("a lock"),
                    "get" if m.args.len() == 1 => Some("a map"),
                    _ => None,
                };
                if let Some(what) = what {
                    // A slot is a place: a field or a local, not a call.
                    if matches!(strip(&m.receiver), Expr::Field(_) | Expr::Path(_)) {
                        return Some(Slot {
                            holder: snippet(&*m.receiver, 60),
                            what,
                        });
                    }
                    return None;
                }
                match name.as_str() {
                    "unwrap" | "expect" | "clone" | "cloned" | "as_ref" | "deref" => &m.receiver,
                    _ => return None,
                }
            }
            _ => return None,
        };
    }
}

fn bound_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(p) => Some(p.ident.to_string()),
        Pat::Type(t) => bound_name(&t.pat),
        _ => None,
    }
}

fn is_literal(expr: &Expr) -> bool {
    match strip(expr) {
        Expr::Lit(_) => true,
        Expr::Path(p) => p.path.get_ident().is_some_and(|i| {
            i.to_string()
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        }),
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p) if path_ends_with(&p.path, &["null"])
            || path_ends_with(&p.path, &["null_mut"])),
        _ => false,
    }
}

fn report(b: &syn::ExprBinary, name: &str, slot: &Slot) -> Finding {
    let text = snippet(b, 72);
    let holder = &slot.holder;
    let what = slot.what;
    Finding::new(
        &INFO,
        b.span(),
        format!(
            "`{text}` decides by address whether `{holder}` still holds the same value: `{name}` \
             is the address of the value re-read from `{holder}` ({what}), and an address is \
             unique only while its value lives; once the old value is freed its address can be \
             handed to the one that replaced it, so a replaced value compares equal (ABA)"
        ),
        format!(
            "give the slot an explicit identity that is never reused (a generation or id counter \
             bumped on every store, or an id the value carries) and compare that instead of \
             `{name}`"
        ),
    )
}
