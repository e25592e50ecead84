//! Shared by the integration tests: a fast configuration and a tracing
//! subscriber that records the reaper's log events.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum_reaper::Config;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Seconds instead of minutes, so paused-time tests stay short.
pub fn fast_config() -> Config {
    Config {
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        max_attempts: 6,
        unavailable_recheck: Duration::from_secs(2),
        max_in_flight: 64,
        max_local_deletes: 16,
        proposals_per_second: 1000,
        proposal_burst: 100,
        warnings_per_window: 5,
        warning_window: Duration::from_secs(10),
    }
}

/// One recorded log event.
#[derive(Clone, Debug)]
pub struct Logged {
    pub level: Level,
    pub message: String,
    pub fields: HashMap<String, String>,
}

impl Logged {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Records this crate's log events per thread (each paused-time test runs
/// on its own thread).
///
/// One global subscriber, installed once, rather than a scoped default per
/// test: tracing caches per-callsite interest across threads, and scoped
/// subscribers coming and going in parallel tests make it drop events.
#[derive(Clone)]
pub struct Capture {
    events: Arc<Mutex<Vec<Logged>>>,
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<(Capture, Level, bool)>> = const { std::cell::RefCell::new(None) };
}

/// Removes this thread's recorder when dropped.
pub struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

impl Capture {
    /// Records every level on this thread.
    pub fn install() -> (Capture, Installed) {
        Capture::install_up_to(Level::TRACE, false)
    }

    /// Records `most_verbose` and more severe levels on this thread; with
    /// `echo`, also prints them to stderr.
    pub fn install_up_to(most_verbose: Level, echo: bool) -> (Capture, Installed) {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            tracing::subscriber::set_global_default(Global).expect("no other global subscriber");
        });
        let capture = Capture {
            events: Arc::default(),
        };
        CURRENT.with(|c| *c.borrow_mut() = Some((capture.clone(), most_verbose, echo)));
        (capture, Installed)
    }

    pub fn events(&self) -> Vec<Logged> {
        self.events.lock().unwrap().clone()
    }

    pub fn at(&self, level: Level) -> Vec<Logged> {
        self.events()
            .into_iter()
            .filter(|e| e.level == level)
            .collect()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().clear();
    }
}

struct Global;

struct Fields<'a>(&'a mut Logged);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.0.message = text;
        } else {
            self.0.fields.insert(field.name().to_owned(), text);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.message = value.to_owned();
        } else {
            self.0
                .fields
                .insert(field.name().to_owned(), value.to_owned());
        }
    }
}

impl Subscriber for Global {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("quorum_reaper")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let level = *event.metadata().level();
        let recorder = CURRENT.with(|c| c.borrow().clone());
        if let Some((capture, _, echo)) =
            recorder.filter(|(_, most_verbose, _)| level <= *most_verbose)
        {
            let mut logged = Logged {
                level,
                message: String::new(),
                fields: HashMap::new(),
            };
            event.record(&mut Fields(&mut logged));
            if echo {
                let mut fields: Vec<_> = logged.fields.iter().collect();
                fields.sort();
                eprintln!("{level:>5} {} {fields:?}", logged.message);
            }
            capture.events.lock().unwrap().push(logged);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
