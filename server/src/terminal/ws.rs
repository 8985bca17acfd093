//! The axum side of the terminal socket: splits the WebSocket into the relay's [`Inbound`]
//! stream and an [`Outbound`] sink (both polled by the relay's own task), and maps close
//! reasons to close codes.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt, future};
use keyhole_protocol::terminal::CloseReason;

use super::relay::{self, Ended, ExecInput, ExecIo, Inbound, Outbound, RelayContext};

/// The WebSocket close code for each reason: 1000/1001/1011 where standard codes fit,
/// 4xxx (application codes) for grant decisions, so a client can tell them apart without
/// parsing the `closed` message.
pub(super) fn close_code(reason: CloseReason) -> u16 {
    match reason {
        CloseReason::Exited | CloseReason::ClientClosed => 1000,
        CloseReason::ServerShutdown => 1001,
        CloseReason::Error => 1011,
        CloseReason::Expired => 4001,
        CloseReason::Revoked => 4003,
        CloseReason::Idle => 4008,
        CloseReason::LoggedOut => 4010,
        CloseReason::SessionExpired => 4011,
        CloseReason::Unverifiable => 4012,
        // Never sent to a browser (only stored on rows a dead gateway left open).
        CloseReason::GatewayLost => 1011,
    }
}

/// The WebSocket message for one outbound item.
fn message(m: Outbound) -> Message {
    match m {
        Outbound::Bytes(b) => Message::Binary(b.into()),
        // Serialising these plain enums cannot fail; an empty text would be ignored.
        Outbound::Control(c) => Message::Text(serde_json::to_string(&c).unwrap_or_default().into()),
        Outbound::Ping => Message::Ping(Default::default()),
        Outbound::Close(reason) => Message::Close(Some(CloseFrame {
            code: close_code(reason),
            reason: reason.as_str().into(),
        })),
    }
}

/// Runs one session over `socket` until it ends. The relay writes to the socket itself.
pub(super) async fn serve<I: ExecInput>(
    socket: WebSocket,
    ctx: RelayContext,
    exec: ExecIo<I>,
) -> Ended {
    let (sink, stream) = socket.split();
    let sink = sink.with(|m: Outbound| future::ready(Ok::<_, axum::Error>(message(m))));
    let inbound = stream.filter_map(|m| async move {
        match m {
            Ok(Message::Binary(b)) => Some(Inbound::Bytes(b.to_vec())),
            Ok(Message::Text(t)) => Some(Inbound::Text(t.as_str().to_owned())),
            Ok(Message::Close(_)) => Some(Inbound::Closed),
            Err(e) => Some(Inbound::Failed(e.to_string())),
            Ok(Message::Ping(_) | Message::Pong(_)) => None,
        }
    });
    relay::run(ctx, Box::pin(inbound), Box::pin(sink), exec).await
}
