//! What permessage-deflate (RFC 7692) would cost, measured on output frames Keyhole really
//! sent: each frame compressed as one message with context takeover (one raw-deflate stream
//! per session, `Z_SYNC_FLUSH`, the trailing `00 00 ff ff` dropped), as a server would, and
//! inflated as a browser would.

use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// One workload's result.
pub(crate) struct Cost {
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Compressed bytes.
    pub compressed: u64,
    /// CPU time to compress everything (the gateway's cost).
    pub deflate: Duration,
    /// CPU time to inflate everything (the browser's cost).
    pub inflate: Duration,
}

impl Cost {
    /// Milliseconds of CPU per MB (10^6 bytes) of terminal output.
    pub(crate) fn deflate_ms_per_mb(&self) -> f64 {
        self.deflate.as_secs_f64() * 1e3 / (self.bytes as f64 / 1e6)
    }

    /// The same for inflating.
    pub(crate) fn inflate_ms_per_mb(&self) -> f64 {
        self.inflate.as_secs_f64() * 1e3 / (self.bytes as f64 / 1e6)
    }

    /// Compressed size as a share of the original.
    pub(crate) fn ratio(&self) -> f64 {
        self.compressed as f64 / self.bytes as f64
    }
}

const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

fn deflate_message(c: &mut Compress, frame: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(frame.len() + 64);
    let start = c.total_in();
    loop {
        let done = (c.total_in() - start) as usize;
        c.compress_vec(&frame[done..], out, FlushCompress::Sync)
            .expect("deflate");
        if (c.total_in() - start) as usize == frame.len() && out.ends_with(&TAIL) {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    out.truncate(out.len() - TAIL.len());
}

fn inflate_message(d: &mut Decompress, msg: &mut Vec<u8>, out: &mut Vec<u8>, want: usize) {
    msg.extend_from_slice(&TAIL);
    out.clear();
    out.reserve(want + 64);
    let start = d.total_in();
    loop {
        let done = (d.total_in() - start) as usize;
        d.decompress_vec(&msg[done..], out, FlushDecompress::Sync)
            .expect("inflate");
        if (d.total_in() - start) as usize == msg.len() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
}

/// Compresses and inflates `frames` as one session's messages at `level`.
pub(crate) fn measure(frames: &[Vec<u8>], level: u32) -> Cost {
    let mut c = Compress::new(Compression::new(level), false);
    let mut d = Decompress::new(false);
    let (mut out, mut plain) = (Vec::new(), Vec::new());
    let mut cost = Cost {
        bytes: 0,
        compressed: 0,
        deflate: Duration::ZERO,
        inflate: Duration::ZERO,
    };
    for frame in frames {
        let t = Instant::now();
        deflate_message(&mut c, frame, &mut out);
        cost.deflate += t.elapsed();
        cost.bytes += frame.len() as u64;
        cost.compressed += out.len() as u64;
        let t = Instant::now();
        inflate_message(&mut d, &mut out, &mut plain, frame.len());
        cost.inflate += t.elapsed();
        assert_eq!(&plain, frame, "deflate round trip");
    }
    cost
}

/// p50 of deflate + inflate of a one-byte message (a keystroke's echo) on a warm stream.
pub(crate) fn echo_p50(level: u32) -> Duration {
    let mut c = Compress::new(Compression::new(level), false);
    let mut d = Decompress::new(false);
    let (mut out, mut plain) = (Vec::new(), Vec::new());
    let mut samples = Vec::with_capacity(10_000);
    for i in 0..10_000u32 {
        let key = [b'a' + (i % 26) as u8];
        let t = Instant::now();
        deflate_message(&mut c, &key, &mut out);
        inflate_message(&mut d, &mut out, &mut plain, 1);
        samples.push(t.elapsed());
        assert_eq!(plain, key);
    }
    samples.sort();
    samples[samples.len() / 2]
}

/// Memory a session's deflate + inflate contexts hold (context takeover keeps them for the
/// session's life): RSS growth over `n` warm pairs, in KiB per session.
pub(crate) fn state_kib(n: usize, rss_kib: impl Fn() -> u64) -> f64 {
    let before = rss_kib();
    let mut held = Vec::with_capacity(n);
    let (mut out, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let mut c = Compress::new(Compression::new(1), false);
        let mut d = Decompress::new(false);
        deflate_message(&mut c, b"warm up: hello from the pod", &mut out);
        inflate_message(&mut d, &mut out, &mut plain, 27);
        held.push((c, d));
    }
    let after = rss_kib();
    drop(held);
    after.saturating_sub(before) as f64 / n as f64
}
