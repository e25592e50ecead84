//! `deferred_delete`: a delete that runs when something goes out of scope,
//! not when the system decided to delete.
//!
//! Six shapes, one file each:
//! - [`scope_exit`]: a guard, `defer!` or deleting local that runs its delete
//!   on every exit from a function's scope;
//! - [`own_subject`]: in a function that proposes to the consensus layer, such
//!   a guard removing the function's own subject from a map (found by
//!   `scope_exit`'s walk, decided there);
//! - [`clone_drop`]: a `Drop` on a `Clone` type that deletes what every clone
//!   shares, with no last-owner check;
//! - [`stale_drop`]: a `Drop` that removes a name-keyed entry from a shared
//!   map without checking that the entry is still its own;
//! - [`racy_last_owner`]: a `Drop` on a `Clone` type whose only last-owner
//!   check is `Arc::strong_count` (found by `clone_drop`, decided there);
//! - [`armed_early`]: a `Drop` that undoes a registration when a field is
//!   set, and a method that sets the field before the fallible registration.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Block, Item, ItemImpl};

use crate::engine::Context;
use crate::finding::Finding;
use crate::prefilter::{Needs, Trigger::*};
use crate::syntax::{is_cfg_test, last_segment};

mod armed_early;
mod clone_drop;
mod own_subject;
mod racy_last_owner;
mod scope_exit;
mod stale_drop;

declare_rule! {
    /// ## What it flags
    ///
    /// A delete that runs because a value went out of scope, not because the
    /// system decided to delete. Six shapes:
    ///
    /// 1. **A delete registered to run when the scope ends**, so that it runs
    ///    on *every* exit path: the Rust form of Go's `defer o.delete()`.
    ///    - `scopeguard::guard(x, |x| x.delete())` or `guard_on_success(..)`
    ///      bound to a local (`let _g = ..`);
    ///    - `defer! { c.delete() }` (and `defer_on_success!`);
    ///    - a local value of a type whose `impl Drop` calls a delete-like
    ///      method, wherever in the crate (or in another member of its cargo
    ///      workspace, when the file imports the type from that member) that
    ///      impl lives, built with `Type::new(..)` (or any other associated
    ///      constructor), a struct literal `Type { .. }`, or annotated
    ///      `let g: Type = ..`, in a lifecycle function (its name is about
    ///      delete/reap/expire/cleanup/.., it calls a delete itself, or it
    ///      forwards a proposal). Elsewhere such a type is ordinary RAII, like
    ///      a handle whose `Drop` calls `ffi_handle_destroy`.
    ///
    ///    It is not flagged when the code after it can switch it off: the
    ///    guard is disarmed (`ScopeGuard::into_inner(g)`, `mem::forget(g)`,
    ///    `g.disarm()`, `g.cancel()`, `g.defuse()`, `g.dismiss()`,
    ///    `g.armed = false`), the delete is behind a flag that is cleared later
    ///    (`if armed.get() { .. }` and `armed.set(false)`), or the guard is
    ///    handed away (returned, stored, passed by value). Nor when it runs
    ///    only while unwinding (`guard_on_unwind`, `defer_on_unwind!`, a delete
    ///    under `if std::thread::panicking()`), or only logs, unlocks or counts
    ///    (the delete vocabulary decides: a `deletes_inflight` counter is not a
    ///    delete). `let _ = guard(..)` runs the guard at once and defers
    ///    nothing. An explicit `drop(g)` is not a disarm: every exit before it
    ///    still deletes.
    ///
    ///    When the same function also forwards a proposal to a consensus
    ///    layer, the message says so and points at the proposal.
    /// 2. **In a function that forwards a proposal**, a guard or `defer!` that
    ///    takes the function's own subject out of a map: `registry.remove(&id)`
    ///    where `id` is a parameter of the function (or the value handed to the
    ///    guard). Without a proposal in the function, a `map.remove` in a guard
    ///    is ordinary cleanup and is not flagged.
    /// 3. **A `Drop` on a `Clone` type that deletes what the clones share**:
    ///    `#[derive(Clone)]` (or an `impl Clone` that only clones its fields or
    ///    duplicates their handles, `file.try_clone().unwrap()`) on a type
    ///    whose `Drop` removes a file or directory (`remove_file`,
    ///    `remove_dir_all`), calls a delete-like method (a remote object, a
    ///    registration), removes its own key (`self.id`) from a map, or aborts
    ///    the task the clones share (`self.poll_task.abort()`), with no
    ///    last-owner check in the `Drop`: no `Arc::strong_count`,
    ///    `Arc::into_inner`/`get_mut`/`try_unwrap`, refcount or `fetch_sub`,
    ///    and no owner flag (`if self.owned`, `keep`, `persist`, `armed`). A
    ///    `Clone` type that holds an `Arc<Inner>` whose own `Drop` deletes is
    ///    fine: `Inner` is not `Clone`, its last owner drops it. An `impl
    ///    Clone` that does more than clone fields (allocates a new id, counts
    ///    a reference) gives each clone its own resource and is fine too. The
    ///    `Clone` derive or impl must be in the same file as the `Drop`.
    /// 4. **A `Drop` that removes a name-keyed entry from a shared map without
    ///    checking that the entry is still its own**: `registry.lock().remove
    ///    (&self.name)` (also a path, topic, address .. key) on a map reached
    ///    through a lock, a static, or an `Arc`/`Weak` field, with no
    ///    comparison in the `Drop` (`==`, `ptr_eq`, `remove_if`, `retain`) and
    ///    no generation, epoch, version or id read. Keys that are unique per
    ///    instance (`self.id`, a `uuid`, a `token`, a slab key, a sequence
    ///    number) are fine: no newer instance shares them.
    /// 5. **A `Drop` on a `Clone` type whose last-owner check is
    ///    `Arc::strong_count(..) == 1`**: the count is read while this handle
    ///    still holds its reference, so two clones dropped at the same time
    ///    both count two and neither deletes (the lock file outlives the
    ///    process). `Rc::strong_count` is fine (no concurrent drops), and so
    ///    are `Arc::into_inner`, a `fetch_sub` refcount and an owner flag.
    /// 6. **A `Drop` that undoes a registration whenever a field is set**
    ///    (`if let Some(p) = self.poller.take() { p.delete(fd) }`), **and a
    ///    method that sets the field before the fallible registration**
    ///    (`self.poller = Some(..); poll.register(fd, ..)?;`): when the
    ///    registration fails because someone else holds it, the `Drop` deletes
    ///    the other owner's registration. Setting the field after the
    ///    registration, or clearing it on the error path, is fine; so is a
    ///    fallible step after the field that is not a registration.
    ///
    /// Test functions and `#[cfg(test)]` modules are skipped: cleaning up test
    /// fixtures on every exit is what a guard is for.
    ///
    /// ## Why it is a bug
    ///
    /// A scope-exit delete runs on every early return, every `?`, every panic
    /// and, in async code, whenever the future is dropped at an `.await`,
    /// including the paths that decided *not* to delete. In a replicated
    /// system that is the premature delete of nats-server PR 7792: the leader
    /// forwards a delete proposal to the metalayer and returns, the deferred
    /// delete removes the consumer locally at once, and if the proposal fails
    /// or has not reached quorum, the cluster still believes in a consumer
    /// this node has already dropped. A guard that takes the member out of the
    /// registry does the same to the membership.
    ///
    /// A `Drop` runs once per value, and a `Clone` type has as many values as
    /// clones: the first clone dropped deletes the directory, the file, the
    /// registration or the remote object that the other clones still hold and
    /// use. And a `Drop` that removes by name runs whenever the old value
    /// dies, which may be after a newer instance registered under the same
    /// name: the late drop removes the newer instance's entry, and the name is
    /// gone while its owner still runs. A `Drop` that trusts a count or a
    /// field set too early deletes on the wrong drop: none at all when two
    /// clones count each other, or the registration of the value that really
    /// owns it when this one never registered.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// async fn delete_not_active(&self, consumer: Arc<Consumer>) -> Result<(), Error> {
    ///     let _cleanup = scopeguard::guard(consumer.clone(), |c| c.delete());
    ///     let meta = self.metalayer().ok_or(Error::NoMetalayer)?; // deletes
    ///     meta.forward_proposal(consumer.delete_proposal()).await?; // deletes, even on failure
    ///     Ok(()) // deletes before the metalayer reached quorum
    /// }
    ///
    /// #[derive(Clone)]
    /// struct Scratch { dir: PathBuf }
    /// impl Drop for Scratch {
    ///     fn drop(&mut self) {
    ///         let _ = std::fs::remove_dir_all(&self.dir); // every clone deletes it
    ///     }
    /// }
    ///
    /// impl Drop for Registration {
    ///     fn drop(&mut self) {
    ///         self.registry.lock().remove(&self.name); // maybe a newer one's entry
    ///     }
    /// }
    ///
    /// #[derive(Clone)]
    /// struct DirLock(Arc<LockFile>);
    /// impl Drop for DirLock {
    ///     fn drop(&mut self) {
    ///         if Arc::strong_count(&self.0) == 1 { // two last drops at once: both count two
    ///             let _ = std::fs::remove_file(&self.0.path);
    ///         }
    ///     }
    /// }
    ///
    /// impl Source {
    ///     fn register(&mut self, poll: &mut Poll) -> io::Result<()> {
    ///         self.poller = Some(poll.handle()); // Drop now deregisters the fd ..
    ///         poll.register(&self.fd)?; // .. even when this fails: someone else's
    ///         Ok(())
    ///     }
    /// }
    /// ```
    ///
    /// ## Fix
    ///
    /// Delete only on the path where the metalayer confirmed the delete (or
    /// on the consumer's quit signal), and disarm the guard on the others,
    /// or drop the guard and call the delete where it belongs.
    ///
    /// ```rust,ignore
    /// async fn delete_not_active(&self, consumer: Arc<Consumer>) -> Result<(), Error> {
    ///     let Some(meta) = self.metalayer() else {
    ///         warn!(consumer = %consumer.name(), "no metalayer; inactive consumer kept");
    ///         return Err(Error::NoMetalayer);
    ///     };
    ///     meta.forward_proposal(consumer.delete_proposal()).await?;
    ///     consumer.quit_signal().await; // stopped once the metalayer applied the delete
    ///     Ok(())
    /// }
    /// ```
    ///
    /// For a `Clone` type, put the resource in an `Arc<Inner>` and the `Drop`
    /// on `Inner` (the last owner deletes, exactly once), or decide with
    /// `Arc::into_inner` or an owner flag; a `strong_count` read is not a
    /// decision. Set the field a `Drop` trusts only after the registration
    /// succeeded. For a name-keyed entry, give each instance an id or a
    /// generation and remove only an entry that still carries it
    /// (`map.remove_if(&self.name, |_, e| e.id == self.id)`).
    INFO = "deferred_delete", Deny, "a delete that runs on scope exit or drop, not when the system decided to delete"
}

/// A guard or `defer!` names itself; a deleting `Drop` type is named where
/// the local is made (constructor, struct literal or type annotation); the
/// two `Drop` shapes are on a `Drop` impl.
pub const NEEDS: Needs = Needs(&[&[Word("guard"), Word("defer"), DeletingDropType, Word("Drop")]]);

pub fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    scope_exit::check(cx, out);
    let types = TypesOfFile::collect(cx);
    if types.drops.is_empty() {
        return;
    }
    // One report per `Drop`: a `Clone` type's drop that removes by name is
    // reported as the clone problem.
    let cloned = clone_drop::check(cx, &types, out);
    stale_drop::check(cx, &types, &cloned, out);
    armed_early::check(cx, &types, out);
}

/// A `Drop` impl of the file.
pub(super) struct DropImpl<'a> {
    pub type_name: String,
    pub body: &'a Block,
}

/// What the file says about its types: their `Drop` impls, which of them are
/// `Clone` (and where that is said), and the fields of its structs.
pub(super) struct TypesOfFile<'a> {
    pub drops: Vec<DropImpl<'a>>,
    /// `Clone` types whose clones share their fields: a derive, or an `impl
    /// Clone` that only clones. The span is the derive or the impl.
    pub shared_clones: HashMap<String, Span>,
    /// Struct fields by type: (field, its type as text).
    pub fields: HashMap<String, Vec<(String, String)>>,
}

impl<'a> TypesOfFile<'a> {
    fn collect(cx: &Context<'a>) -> TypesOfFile<'a> {
        let mut walk = TypesOfFile {
            drops: Vec::new(),
            shared_clones: HashMap::new(),
            fields: HashMap::new(),
        };
        walk.visit_file(cx.file);
        walk
    }

    pub fn field_type(&self, type_name: &str, field: &str) -> Option<&str> {
        self.fields
            .get(type_name)?
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, t)| t.as_str())
    }

    fn note_impl(&mut self, imp: &'a ItemImpl) {
        let Some((_, trait_path, _)) = &imp.trait_ else {
            return;
        };
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            return;
        };
        let Some(type_name) = last_segment(&self_ty.path) else {
            return;
        };
        let function = |name: &str| {
            imp.items.iter().find_map(|i| match i {
                syn::ImplItem::Fn(f) if f.sig.ident == name => Some(&f.block),
                _ => None,
            })
        };
        match last_segment(trait_path).as_deref() {
            Some("Drop") => {
                if let Some(body) = function("drop") {
                    self.drops.push(DropImpl { type_name, body });
                }
            }
            Some("Clone") if function("clone").is_some_and(clone_shares) => {
                self.shared_clones.insert(type_name, imp.span());
            }
            _ => {}
        }
    }
}

impl<'a> Visit<'a> for TypesOfFile<'a> {
    fn visit_item(&mut self, item: &'a Item) {
        match item {
            Item::Mod(m) if m.attrs.iter().any(is_cfg_test) => return,
            Item::Impl(imp) => self.note_impl(imp),
            Item::Struct(s) => {
                if let Some(derive) = derives_clone(&s.attrs) {
                    self.shared_clones.insert(s.ident.to_string(), derive);
                }
                let fields = s
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let name = f.ident.as_ref()?.to_string();
                        Some((name, quote::ToTokens::to_token_stream(&f.ty).to_string()))
                    })
                    .collect();
                self.fields.insert(s.ident.to_string(), fields);
            }
            Item::Enum(e) => {
                if let Some(derive) = derives_clone(&e.attrs) {
                    self.shared_clones.insert(e.ident.to_string(), derive);
                }
            }
            _ => {}
        }
        visit::visit_item(self, item);
    }

    // Items in function bodies are rare and local; not worth the walk.
    fn visit_block(&mut self, _: &'a Block) {}
}

/// `#[derive(.., Clone, ..)]`: the attribute's span.
fn derives_clone(attrs: &[syn::Attribute]) -> Option<Span> {
    attrs.iter().find_map(|a| {
        let list = a
            .meta
            .require_list()
            .ok()
            .filter(|_| a.path().is_ident("derive"))?;
        list.tokens
            .clone()
            .into_iter()
            .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "Clone"))
            .then(|| a.span())
    })
}

/// Whether an `impl Clone`'s `clone` only clones (or copies) its fields, so
/// the clones share whatever those fields name. A `clone` that calls anything
/// else (allocates an id, bumps a count, registers anew) gives each clone its
/// own resource.
fn clone_shares(body: &Block) -> bool {
    struct OnlyClones(bool);
    impl Visit<'_> for OnlyClones {
        fn visit_expr_method_call(&mut self, m: &syn::ExprMethodCall) {
            let name = m.method.to_string();
            // `file.try_clone().unwrap()` duplicates the handle of the same
            // file: the clone shares it.
            if !matches!(
                name.as_str(),
                "clone"
                    | "cloned"
                    | "to_owned"
                    | "to_string"
                    | "into"
                    | "as_ref"
                    | "deref"
                    | "try_clone"
                    | "unwrap"
                    | "expect"
            ) {
                self.0 = false;
            }
            visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &syn::ExprCall) {
            let is_clone = matches!(&*c.func, syn::Expr::Path(p)
                if last_segment(&p.path).as_deref() == Some("clone"));
            // `Self(..)` and tuple-struct constructors build, they do not act.
            let builds = matches!(&*c.func, syn::Expr::Path(p)
                if last_segment(&p.path).is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase())));
            if !is_clone && !builds {
                self.0 = false;
            }
            visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, _: &syn::Macro) {
            self.0 = false;
        }
    }
    let mut only = OnlyClones(true);
    only.visit_block(body);
    only.0
}

/// Every identifier in a `Drop` body, snake-cased words split apart: what
/// the checks for a last-owner test or an ownership compare look through.
pub(super) fn words_of(body: &Block) -> Vec<String> {
    fn collect(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    let text = ident.to_string();
                    let snake = crate::syntax::snake_case(&text);
                    out.extend(snake.split('_').filter(|w| !w.is_empty()).map(String::from));
                    out.push(text);
                }
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    collect(quote::ToTokens::to_token_stream(body), &mut out);
    out
}
