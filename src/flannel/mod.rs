//! Flannel's data, kept exactly as flanneld keeps it so both can share one store:
//! the network config at `<prefix>/config`, subnet leases at `<prefix>/subnets/10.1.15.0-24`,
//! the host's `subnet.env`, and the docker options `mk-docker-opts.sh` derives from it.

pub mod config;
pub mod docker_opts;
mod json_fields;
pub mod keys;
pub mod lease;
pub mod registry;
pub mod subnet_env;

pub use config::{Backend, BackendType, ConfigError, NetworkConfig};
pub use lease::{AcquiredLease, LeaseAttrs, LeaseError, LeaseOrigin, LeaseRequest, SubnetLease};
pub use registry::{LeaseEvent, LeaseEvents, Registry};
