//! The operating system below netlink: named namespaces and threads inside them, `--sandbox`,
//! signals, sysctls, programs run in a namespace, TUN devices.
pub mod exec;
pub mod netns;
pub mod sandbox;
pub mod signals;
pub mod sysctl;
pub mod tun;
