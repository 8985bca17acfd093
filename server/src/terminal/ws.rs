//! The axum side of the terminal socket: splits the WebSocket into the relay's [`Inbound`]
//! stream and a writer task fed by a bounded queue of [`Outbound`] messages.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use keyhole_protocol::terminal::CloseReason;
use tokio::sync::mpsc;

use super::relay::{self, Ended, ExecInput, ExecIo, Inbound, Outbound, RelayContext};

/// Outbound queue length (frames). With ≤ 16 KiB per frame this bounds what one slow browser
/// can make us hold to ~256 KiB; beyond it the relay stops reading the pod's output.
const OUT_QUEUE: usize = 16;

/// The WebSocket close code for each reason: 1000/1001/1011 where standard codes fit,
/// 4xxx (application codes) for grant decisions, so a client can tell them apart without
/// parsing the `closed` message.
pub fn close_code(reason: CloseReason) -> u16 {
    match reason {
        CloseReason::Exited | CloseReason::ClientClosed => 1000,
        CloseReason::ServerShutdown => 1001,
        CloseReason::Error => 1011,
        CloseReason::Expired => 4001,
        CloseReason::Revoked => 4003,
        CloseReason::Idle => 4008,
    }
}

/// Runs one session over `socket` until it ends.
pub async fn serve<I: ExecInput>(socket: WebSocket, ctx: RelayContext, exec: ExecIo<I>) -> Ended {
    let (mut sink, stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Outbound>(OUT_QUEUE);
    let mut writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let msg = match m {
                Outbound::Bytes(b) => Message::Binary(b.into()),
                Outbound::Control(c) => match serde_json::to_string(&c) {
                    Ok(text) => Message::Text(text.into()),
                    Err(_) => continue,
                },
                Outbound::Close(reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: close_code(reason),
                            reason: reason.as_str().into(),
                        })))
                        .await;
                    break;
                }
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });
    let inbound = stream.filter_map(|m| async move {
        match m {
            Ok(Message::Binary(b)) => Some(Inbound::Bytes(b.to_vec())),
            Ok(Message::Text(t)) => Some(Inbound::Text(t.as_str().to_owned())),
            Ok(Message::Close(_)) => Some(Inbound::Closed),
            Err(e) => Some(Inbound::Failed(e.to_string())),
            Ok(Message::Ping(_) | Message::Pong(_)) => None,
        }
    });
    let ended = relay::run(ctx, Box::pin(inbound), tx, exec).await;
    // Let the writer flush `closed` and the close frame, but never hang on a dead browser.
    if tokio::time::timeout(Duration::from_secs(1), &mut writer)
        .await
        .is_err()
    {
        tracing::debug!("terminal writer did not finish in 1 s");
        writer.abort();
    }
    ended
}
