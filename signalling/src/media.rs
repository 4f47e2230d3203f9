//! The media node a room is placed on, in this process or across the bus.
//! The embedded default has one node; with the SFU apart, rooms go to the
//! node named in `signalling.sfu_node`.

use std::sync::Arc;

use futures::StreamExt;
use media::node::remote::{EventStream, RemoteNode};
use media::node::Node;
use proto::sfu::{Event, Join, Request, Sdp, SfuError, Welcome};
use tokio::sync::broadcast;
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

#[derive(Clone)]
pub enum Media {
    /// The node runs in this process; its relay rebroadcasts room events.
    Local {
        node: Arc<Node>,
        events: broadcast::Sender<Event>,
    },
    Remote(Arc<RemoteNode>),
}

impl Media {
    pub async fn join(&self, join: Join) -> Result<Welcome, SfuError> {
        match self {
            Media::Local { node, .. } => node.join(join).await,
            Media::Remote(node) => node.join(join).await,
        }
    }

    pub async fn request(
        &self,
        room: &str,
        participant: &str,
        request: Request,
    ) -> Result<Option<Sdp>, SfuError> {
        match self {
            Media::Local { node, .. } => node.request(room, participant, request).await,
            Media::Remote(node) => node.request(room, participant, request).await,
        }
    }

    /// Room events of the node from now on.
    pub async fn events(&self) -> Result<EventStream, platform::bus::BusError> {
        match self {
            Media::Local { events, .. } => Ok(Box::pin(
                BroadcastStream::new(events.subscribe()).filter_map(|e| async move {
                    match e {
                        Ok(event) => Some(event),
                        Err(BroadcastStreamRecvError::Lagged(n)) => {
                            tracing::error!(lost = n, "signalling fell behind the room events");
                            None
                        }
                    }
                }),
            )),
            Media::Remote(node) => node.events().await,
        }
    }
}
