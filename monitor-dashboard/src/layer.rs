//! `MonitorLayer`: what a handler's return type cannot tell.

/// A tower layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonitorLayer;

impl MonitorLayer {
    /// A layer.
    pub fn new() -> MonitorLayer {
        MonitorLayer
    }
}

/// The service [`MonitorLayer`] wraps.
#[derive(Debug, Clone)]
pub struct MonitorService<S>(S);
