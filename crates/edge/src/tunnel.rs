//! Upgraded connections (WebSocket, and any other `Upgrade` protocol) between a client and a backend.
//!
//! Once the backend has answered `101 Switching Protocols`, the edge stops speaking HTTP on both
//! connections and copies bytes both ways. The tunnel keeps its backend counted in flight, so a drain
//! waits for it; when a drain reaches its timeout it asks the backend's tunnels to close.
//!
//! For WebSockets the copy follows the frame structure (RFC 6455 §5.2) without buffering it: asked to
//! close, each direction first finishes the message it is forwarding (fragmented messages included),
//! then the edge sends both ends a Close frame (1001 "going away") and ends the connection. A client
//! therefore never receives half a message because its service was redeployed. Other protocols have no
//! boundaries the edge knows of; their tunnels are closed at once.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::watch;

use crate::backend::InFlight;

/// Longest wait for a peer to finish the message it is sending once the tunnel was asked to close.
const FINISH_MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);
/// Close status sent to both ends when a drain closes a WebSocket: the endpoint is going away.
const GOING_AWAY: u16 = 1001;
const CLOSE_REASON: &[u8] = b"service redeployed";
/// After the Close frames, how long the edge reads what the peers still send before closing.
const LINGER: Duration = Duration::from_secs(2);

type Io = TokioIo<Upgraded>;

/// Which protocol a tunnel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    WebSocket,
    Other,
}

impl Protocol {
    pub(crate) fn of(upgrade: &[u8]) -> Self {
        if upgrade.eq_ignore_ascii_case(b"websocket") { Self::WebSocket } else { Self::Other }
    }
}

/// Runs the tunnel once both connections have been handed over; returns when it is closed.
pub(crate) async fn run(client: OnUpgrade, upstream: OnUpgrade, protocol: Protocol, in_flight: InFlight) {
    let backend = in_flight.backend().addr();
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(both) => both,
        Err(error) => {
            tracing::debug!(%backend, %error, "an upgraded connection was not handed over");
            return;
        }
    };
    let close = in_flight.backend().tunnel_closer();
    let _open = in_flight.backend().tunnel_opened();
    let started = std::time::Instant::now();
    let ended = match protocol {
        Protocol::WebSocket => websocket(TokioIo::new(client), TokioIo::new(upstream), close).await,
        Protocol::Other => opaque(TokioIo::new(client), TokioIo::new(upstream), close).await,
    };
    tracing::debug!(%backend, ?protocol, ?ended, secs = started.elapsed().as_secs(), "tunnel closed");
    drop(in_flight);
}

/// How a tunnel ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// One end closed its connection, or an error cut it.
    ByPeer,
    /// A drain asked the tunnel to close.
    Drained,
}

/// Copies bytes both ways until either side is done or a drain closes the tunnel.
async fn opaque(mut client: Io, mut upstream: Io, mut close: watch::Receiver<u64>) -> Ended {
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => Ended::ByPeer,
        _ = close.changed() => Ended::Drained,
    }
}

async fn websocket(client: Io, upstream: Io, close: watch::Receiver<u64>) -> Ended {
    let (client_read, client_write) = tokio::io::split(client);
    let (upstream_read, upstream_write) = tokio::io::split(upstream);
    let up = pump(client_read, upstream_write, close.clone());
    let down = pump(upstream_read, client_write, close);
    tokio::pin!(up, down);
    // When one end goes away the tunnel ends: the other direction is dropped, closing its connection.
    let ((mut from_client, mut to_upstream), (mut from_upstream, mut to_client)) = tokio::select! {
        up = &mut up => match up {
            Pumped::Stopped(read, write) => match down.await {
                Pumped::Stopped(down_read, down_write) => ((read, write), (down_read, down_write)),
                Pumped::Finished => return Ended::ByPeer,
            },
            Pumped::Finished => return Ended::ByPeer,
        },
        down = &mut down => match down {
            Pumped::Stopped(down_read, down_write) => match up.await {
                Pumped::Stopped(read, write) => ((read, write), (down_read, down_write)),
                Pumped::Finished => return Ended::ByPeer,
            },
            Pumped::Finished => return Ended::ByPeer,
        },
    };
    // Both directions stopped between messages: say goodbye properly at both ends.
    let _ = to_client.write_all(&close_frame(None)).await;
    let _ = to_upstream.write_all(&close_frame(Some(masking_key()))).await;
    let _ = to_client.shutdown().await;
    let _ = to_upstream.shutdown().await;
    // Read what the peers still send (their Close, messages already on the way) until they close: a
    // socket closed with unread data answers with a reset, which a client may see before the Close.
    let _ = tokio::time::timeout(LINGER, async {
        tokio::join!(discard(&mut from_client), discard(&mut from_upstream));
    })
    .await;
    Ended::Drained
}

/// Reads and drops everything until the end of the stream or an error.
async fn discard<R: AsyncRead>(from: &mut ReadHalf<R>) {
    let mut buf = vec![0u8; 16 * 1024];
    while matches!(from.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// How one direction of a WebSocket tunnel ended.
enum Pumped<R, W> {
    /// Asked to close, it stopped at a message boundary; both halves are kept for the Close frame and
    /// the lingering close.
    Stopped(R, W),
    /// The reader reached its end or an error occurred; the writer was shut down.
    Finished,
}

/// Forwards frames from `from` to `to` as they come, until the reader ends or, once `close` changes,
/// the current message is complete.
async fn pump<R, W>(
    mut from: ReadHalf<R>,
    mut to: WriteHalf<W>,
    mut close: watch::Receiver<u64>,
) -> Pumped<ReadHalf<R>, WriteHalf<W>>
where
    R: AsyncRead + AsyncWrite,
    W: AsyncRead + AsyncWrite,
{
    let mut frames = FrameReader::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut closing = false;
    let mut deadline = None;
    loop {
        if closing && frames.at_message_boundary() {
            return Pumped::Stopped(from, to);
        }
        let read = tokio::select! {
            read = from.read(&mut buf) => read,
            _ = close.changed(), if !closing => {
                closing = true;
                deadline = Some(tokio::time::Instant::now() + FINISH_MESSAGE_TIMEOUT);
                continue;
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                // The peer stalled in the middle of a message: give up on a clean close.
                let _ = to.shutdown().await;
                return Pumped::Finished;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return Pumped::Finished;
            }
            Ok(n) => n,
        };
        let forward = if closing { frames.bytes_to_message_end(&buf[..n]) } else { n };
        frames.advance(&buf[..forward]);
        if to.write_all(&buf[..forward]).await.is_err() {
            return Pumped::Finished;
        }
        if forward < n {
            // The rest starts a message that will never be forwarded: the tunnel is closing.
            return Pumped::Stopped(from, to);
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Follows WebSocket frame boundaries in a byte stream without holding the bytes.
#[derive(Debug, Default)]
struct FrameReader {
    /// The header of the frame being read, while incomplete.
    header: Vec<u8>,
    /// Payload bytes left in the current frame once its header is complete.
    payload_left: u64,
    /// Whether a fragmented data message is open (a data frame without FIN was seen).
    in_message: bool,
}

impl FrameReader {
    /// Whether the bytes seen so far end exactly after a complete message (or control frame).
    fn at_message_boundary(&self) -> bool {
        self.header.is_empty() && self.payload_left == 0 && !self.in_message
    }

    /// Consumes `bytes`, tracking where frames and messages end.
    fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let take = usize::try_from(self.payload_left).unwrap_or(usize::MAX).min(bytes.len());
                self.payload_left -= take as u64;
                bytes = &bytes[take..];
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if let Some((fin, opcode, payload)) = parse_header(&self.header) {
                self.header.clear();
                self.payload_left = payload;
                if opcode < 0x8 {
                    // Data and continuation frames open or continue a message; control frames
                    // (which may sit between fragments) do not change it.
                    self.in_message = !fin;
                }
            }
        }
    }

    /// How many of `bytes` to forward so that the stream stops at the next message boundary: all of
    /// them when none is reached.
    fn bytes_to_message_end(&self, bytes: &[u8]) -> usize {
        let mut probe =
            FrameReader { header: self.header.clone(), payload_left: self.payload_left, in_message: self.in_message };
        for index in 0..bytes.len() {
            if probe.at_message_boundary() {
                return index;
            }
            probe.advance(&bytes[index..=index]);
        }
        bytes.len()
    }
}

/// Parses a complete frame header: `(fin, opcode, payload length)`, or `None` while incomplete.
fn parse_header(header: &[u8]) -> Option<(bool, u8, u64)> {
    let (&first, &second) = (header.first()?, header.get(1)?);
    let masked = second & 0x80 != 0;
    let (length, length_bytes) = match second & 0x7f {
        126 => (u64::from(u16::from_be_bytes(header.get(2..4)?.try_into().ok()?)), 2),
        127 => (u64::from_be_bytes(header.get(2..10)?.try_into().ok()?), 8),
        short => (u64::from(short), 0),
    };
    let total = 2 + length_bytes + if masked { 4 } else { 0 };
    (header.len() == total).then_some((first & 0x80 != 0, first & 0x0f, length))
}

/// A Close frame with status 1001; masked (as a client must) when a key is given.
fn close_frame(mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut payload = GOING_AWAY.to_be_bytes().to_vec();
    payload.extend_from_slice(CLOSE_REASON);
    let length = u8::try_from(payload.len()).expect("a short close reason");
    let mut frame = vec![0x88];
    match mask {
        Some(key) => {
            frame.push(0x80 | length);
            frame.extend_from_slice(&key);
            frame.extend(payload.iter().enumerate().map(|(i, byte)| byte ^ key[i % 4]));
        }
        None => {
            frame.push(length);
            frame.extend_from_slice(&payload);
        }
    }
    frame
}

/// A fresh masking key for a frame the edge sends to a backend as a client.
fn masking_key() -> [u8; 4] {
    let random = RandomState::new().hash_one(std::time::SystemTime::now());
    let [a, b, c, d, ..] = random.to_le_bytes();
    [a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame as a peer sends it: `fin`, `opcode`, masked or not, with `payload`.
    fn frame(fin: bool, opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            out.extend_from_slice(&[1, 2, 3, 4]);
        }
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn boundaries_follow_frames_of_every_length_fed_byte_by_byte() {
        for len in [0, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
            for masked in [false, true] {
                let bytes = frame(true, 0x2, masked, &vec![7; len]);
                let mut reader = FrameReader::default();
                for (i, byte) in bytes.iter().enumerate() {
                    assert!(i == 0 || !reader.at_message_boundary(), "len {len}: boundary inside the frame at {i}");
                    reader.advance(std::slice::from_ref(byte));
                }
                assert!(reader.at_message_boundary(), "len {len}, masked {masked}");
            }
        }
    }

    #[test]
    fn fragmented_messages_end_at_their_final_fragment_even_with_a_ping_between() {
        let mut stream = frame(false, 0x1, true, b"hel");
        stream.extend(frame(true, 0x9, true, b"ping"));
        let middle = stream.len();
        stream.extend(frame(true, 0x0, true, b"lo"));
        let end = stream.len();
        stream.extend(frame(true, 0x1, true, b"next"));

        let mut reader = FrameReader::default();
        reader.advance(&stream[..middle]);
        assert!(!reader.at_message_boundary(), "a ping between fragments is not a message boundary");
        assert_eq!(reader.bytes_to_message_end(&stream[middle..]), end - middle, "stops after the final fragment");
        reader.advance(&stream[middle..end]);
        assert!(reader.at_message_boundary());
        assert_eq!(FrameReader::default().bytes_to_message_end(&stream), 0, "already at a boundary");
    }

    #[test]
    fn close_frames_carry_going_away_masked_or_not() {
        let plain = close_frame(None);
        assert_eq!(parse_header(&plain[..2]), Some((true, 0x8, (2 + CLOSE_REASON.len()) as u64)));
        assert_eq!(&plain[2..4], &GOING_AWAY.to_be_bytes());
        let key = [9, 8, 7, 6];
        let masked = close_frame(Some(key));
        assert_eq!(parse_header(&masked[..6]), Some((true, 0x8, (2 + CLOSE_REASON.len()) as u64)));
        let unmasked: Vec<u8> = masked[6..].iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
        assert_eq!(unmasked, plain[2..]);
    }
}
