//! The RDS layer: clients, one per region, and every RDS look-up and action more than one task
//! makes. What a look-up's answer means for the refresh is decided elsewhere, by the pure
//! functions of [`crate::decisions`]; here are only the calls and their error mapping.
//!
//! - [`instances`]: find an instance, list a region's, read an instance's configuration,
//!   rename one, delete a temporary one, turn deletion protection off.
//! - [`snapshots`]: describe a snapshot, the copies rds-refresh made for a target, tag a final
//!   snapshot.
//! - [`groups`]: the parameter and option groups a configuration names, and whether they fit
//!   a snapshot.
use aws_config::SdkConfig;
use aws_sdk_rds::Client;
use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};

use crate::regional::Regional;

pub mod groups;
pub mod instances;
pub mod snapshots;

pub use groups::{check_fits_snapshot, groups_of};
pub use instances::{
    configuration_of, delete_temporary, endpoint_of, find_instance, is_default_group, region_instances, rename,
    turn_off_deletion_protection,
};
pub use snapshots::{describe_snapshot, own_copies, tag_final_snapshot};

/// RDS clients for any region (see [`Regional`]).
#[derive(Clone, Debug)]
pub struct Rds {
    clients: Regional<Client>,
}

impl Rds {
    pub fn new(config: SdkConfig) -> Self {
        let make = |config: &SdkConfig, region| {
            Client::from_conf(aws_sdk_rds::config::Builder::from(config).region(region).build())
        };
        Self { clients: Regional::new(config, make) }
    }

    /// For tests: RDS clients made in advance (see [`Regional::prepared`]).
    #[doc(hidden)]
    pub fn from_regional(clients: Regional<Client>) -> Self {
        Self { clients }
    }

    /// The client for `region`.
    pub fn client(&self, region: &str) -> Client {
        self.clients.client(region)
    }
}

/// An RDS timestamp as RFC 3339 text, the form every output of rds-refresh uses.
pub fn format_time(time: &DateTime) -> String {
    time.fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| time.to_string())
}

/// The current time as RFC 3339 text (see [`format_time`]).
pub fn now() -> String {
    format_time(&DateTime::from(std::time::SystemTime::now()))
}
