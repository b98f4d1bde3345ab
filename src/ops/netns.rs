//! Network namespaces.

use super::Name;

#[derive(Clone, Debug, PartialEq)]
pub enum NetnsOp {
    Add { name: Name },
    Del { name: Name },
    List,
}
