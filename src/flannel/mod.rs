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
mod view;

pub use config::{Backend, ConfigError, NetworkConfig};
pub use docker_opts::{DEFAULT_DOCKER_ENV_FILE, DockerOptsFlags};
pub use keys::DEFAULT_PREFIX;
pub use lease::{
    AcquiredLease, LeaseAttrs, LeaseError, LeaseOrigin, LeaseRequest, RENEW_MARGIN, SUBNET_TTL,
    SubnetLease, renew_after,
};
pub use registry::{LeaseEvent, LeaseEvents, Registry};
pub use subnet_env::{DEFAULT_SUBNET_FILE, SubnetEnv};
