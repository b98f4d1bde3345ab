//! `show topology [in NS] [dot|svg|json]`: the live lab as a picture. The kernel is read as `dump`
//! reads it (every named namespace and the one netsh runs in, so that a veth's peer is found
//! wherever it is), the Ops that would rebuild it make the model (src/topology/), and with `in NS`
//! the picture keeps that namespace alone.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::ops::{NetnsOp, Ns, Op, Picture};
use crate::sys::netns;
use crate::topology::Topology;

impl RealWorld {
    pub(super) fn topology(&mut self, only: &Ns, picture: Picture) -> Result<String, RunError> {
        // a namespace that is not there is an error, not an empty picture
        if only.is_some() {
            self.nl(only)?;
        }
        let mut names: Vec<Ns> = vec![None];
        names.extend(netns::list().into_iter().map(|n| Some(n.into())));
        let state = self.state(names.clone())?;
        let mut t = Topology::new();
        for name in names.into_iter().flatten() {
            t.apply(&Op::Netns(NetnsOp::Add { name }));
        }
        for op in &state.ops {
            t.apply(op);
        }
        let mut t = t.pictured();
        if only.is_some() {
            t = t.only(only);
        }
        let picture = match picture {
            Picture::Text if self.opts.json => Picture::Json,
            p => p,
        };
        Ok(crate::topology::render(&t, picture))
    }
}
