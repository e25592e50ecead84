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

/// Records the events of this crate (all levels) on the current thread.
#[derive(Clone)]
pub struct Capture {
    events: Arc<Mutex<Vec<Logged>>>,
    most_verbose: Level,
}

impl Capture {
    /// Installs the recorder (every level) as this thread's default subscriber.
    pub fn install() -> (Capture, tracing::subscriber::DefaultGuard) {
        Capture::install_up_to(Level::TRACE)
    }

    /// Installs the recorder for `most_verbose` and more severe levels.
    pub fn install_up_to(most_verbose: Level) -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture {
            events: Arc::default(),
            most_verbose,
        };
        let guard = tracing::subscriber::set_default(capture.clone());
        (capture, guard)
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

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("quorum_reaper") && *metadata.level() <= self.most_verbose
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut logged = Logged {
            level: *event.metadata().level(),
            message: String::new(),
            fields: HashMap::new(),
        };
        event.record(&mut Fields(&mut logged));
        self.events.lock().unwrap().push(logged);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
