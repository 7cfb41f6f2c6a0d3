//! Clients of one AWS service for any region, built from one shared AWS configuration.
//!
//! Built once per Lambda process, outside the handler: the configuration (credentials, retry
//! settings, `AWS_ENDPOINT_URL`) is loaded once and each region's client is made on first use
//! and kept, so warm invocations reuse connections.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{Region, SdkConfig};

/// One client per region, made by `make` from the shared configuration and the region.
#[derive(Debug)]
pub struct Regional<C> {
    config: SdkConfig,
    make: fn(&SdkConfig, Region) -> C,
    clients: Arc<Mutex<HashMap<String, C>>>,
}

impl<C> Clone for Regional<C> {
    fn clone(&self) -> Self {
        Self { config: self.config.clone(), make: self.make, clients: self.clients.clone() }
    }
}

impl<C: Clone> Regional<C> {
    pub fn new(config: SdkConfig, make: fn(&SdkConfig, Region) -> C) -> Self {
        Self { config, make, clients: Arc::default() }
    }

    /// The client for `region`.
    pub fn client(&self, region: &str) -> C {
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| (self.make)(&self.config, Region::new(region.to_owned())))
            .clone()
    }
}

impl<C: Clone> Regional<C> {
    /// For tests: the clients given, one per region, made in advance (e.g. with the SDK's
    /// mocking interceptor); asking for any other region panics instead of making a client
    /// that would reach AWS.
    #[doc(hidden)]
    pub fn prepared(clients: impl IntoIterator<Item = (String, C)>) -> Self {
        Self {
            config: SdkConfig::builder().build(),
            make: |_, region| panic!("no client was prepared for region {region}"),
            clients: Arc::new(Mutex::new(clients.into_iter().collect())),
        }
    }
}
