//! Kernel settings (sysctls), per namespace.

use super::{Name, Ns};

#[derive(Clone, Debug, PartialEq)]
pub enum SysctlOp {
    Set { ns: Ns, key: Name, value: Name },
    Show { ns: Ns, key: Name },
}
