//! Where captured packets go: a pcap file (pcap-file's writer, which tcpdump and Wireshark read), or
//! stdout, one line (or one JSON object) per packet.

use super::decode::{Decoded, LinkType, decode};
use super::socket::SNAPLEN;
use crate::base::error::RunError;
use crate::base::json_stream::{self, Type};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

/// A pcap file opened before the recording starts, so that a path that cannot be written fails the
/// statement and starts nothing. It is not truncated until the socket is listening.
pub struct Target {
    path: PathBuf,
    file: File,
    /// It was made by this open: a capture that cannot start takes it away again.
    made: bool,
}

impl Target {
    pub fn open(path: &str) -> Result<Target, RunError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = PathBuf::from(path);
        let made = std::fs::symlink_metadata(&path).is_err();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o644)
            // a symlink planted at the path is not followed
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                RunError::os(
                    format!("cannot write the capture to {}", path.display()),
                    &e,
                )
                .at("to", path.display().to_string())
            })?;
        Ok(Target { path, file, made })
    }

    /// The capture did not start: a file this open made goes again.
    pub fn abandon(self) {
        if self.made {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// How one packet is shown on stdout with `--json`.
#[derive(Serialize)]
struct JsonPacket<'a> {
    capture: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ns: Option<&'a str>,
    time: f64,
    len: usize,
    #[serde(flatten)]
    packet: &'a Decoded,
}

pub enum Sink {
    Pcap(PcapWriter<BufWriter<File>>),
    Lines {
        json: bool,
        dev: String,
        ns: Option<String>,
    },
}

impl Sink {
    /// Starts the pcap file: truncated, then its header.
    pub fn pcap(target: Target, link: LinkType) -> Result<Sink, String> {
        let what =
            |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", target.path.display());
        target.file.set_len(0).map_err(|e| what(&e))?;
        let header = PcapHeader {
            snaplen: SNAPLEN as u32,
            datalink: match link {
                LinkType::Ethernet => DataLink::ETHERNET,
                LinkType::RawIp => DataLink::RAW,
            },
            ..Default::default()
        };
        let out = BufWriter::with_capacity(1 << 20, target.file);
        PcapWriter::with_header(out, header)
            .map(Sink::Pcap)
            .map_err(|e| what(&e))
    }

    /// Whether a packet must be decoded to be written (lines are words about it; pcap is bytes).
    pub fn reads_packets(&self) -> bool {
        matches!(self, Sink::Lines { .. })
    }

    /// Writes one packet; `decoded` is it read, when it was.
    pub fn put(
        &mut self,
        time: Duration,
        frame: &[u8],
        link: LinkType,
        decoded: Option<&Decoded>,
    ) -> Result<(), String> {
        match self {
            Sink::Pcap(w) => w
                .write_packet(&PcapPacket::new(time, frame.len() as u32, frame))
                .map(|_| ())
                .map_err(|e| format!("cannot write the capture: {e}")),
            Sink::Lines { json, dev, ns } => {
                let owned;
                let d = match decoded {
                    Some(d) => d,
                    None => {
                        owned = decode(frame, link);
                        &owned
                    }
                };
                if *json {
                    let packet = serde_json::to_value(&JsonPacket {
                        capture: dev,
                        ns: ns.as_deref(),
                        time: time.as_secs_f64(),
                        len: frame.len(),
                        packet: d,
                    })
                    .map_err(|e| format!("cannot write the capture: {e}"))?;
                    json_stream::record(Type::Capture, packet);
                } else {
                    json_stream::text(Type::Capture, &d.line());
                }
                Ok(())
            }
        }
    }

    /// Everything written reaches the file.
    pub fn finish(self) -> Result<(), String> {
        match self {
            Sink::Pcap(w) => w
                .into_writer()
                .flush()
                .map_err(|e| format!("cannot write the capture: {e}")),
            Sink::Lines { .. } => Ok(()),
        }
    }
}
