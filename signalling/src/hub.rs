//! The hub: what each client message does, what each SFU event tells which
//! clients, and the life of a session (join, resume, grace, leave).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use platform::room_token::{RoomTokenError, RoomTokens};
use platform::Clock;
use proto::room_token::RoomClaims;
use proto::sfu::{Event, Join, ParticipantInfo, Request, Sdp, SfuError};
use proto::signal::{
    CallStatusUpdate, ClientMessage, ClosedReason, ErrorCode, LeftReason, ServerMessage,
    SignalError, Welcome,
};
use rand::RngCore;

use crate::media::Media;
use crate::metrics::Metrics;
use crate::sessions::{Outbox, ResumeError, Roster, Sessions, SocketId};
use crate::Settings;

/// Messages kept for a detached session before it can no longer resume.
const MAX_BUFFER: usize = 512;

/// A socket's joined session.
#[derive(Debug, Clone)]
pub struct Joined {
    pub session: String,
    pub room: String,
    pub participant: String,
}

pub struct Hub {
    pub settings: Settings,
    tokens: RoomTokens,
    media: Media,
    clock: Arc<dyn Clock>,
    sessions: Mutex<Sessions>,
    /// Participants whose grace period ran out, so their `left` event says
    /// `disconnected`.
    expired: Mutex<HashSet<(String, String)>>,
    sockets: AtomicU64,
    pub metrics: Metrics,
}

pub fn error(code: ErrorCode, message: impl Into<String>, fatal: bool) -> SignalError {
    SignalError {
        code,
        message: message.into(),
        fatal,
    }
}

fn sfu_error(e: SfuError, fatal: bool) -> SignalError {
    let code = match &e {
        SfuError::RoomFull(_) => ErrorCode::RoomFull,
        SfuError::AlreadyJoined(_) => ErrorCode::AlreadyJoined,
        SfuError::UnknownParticipant(_) => ErrorCode::UnknownParticipant,
        SfuError::UnknownTrack(_) => ErrorCode::UnknownTrack,
        SfuError::PublishDenied(_) => ErrorCode::PublishDenied,
        SfuError::NotHost => ErrorCode::NotHost,
        SfuError::BadSdp(_) => ErrorCode::BadSdp,
        SfuError::OfferPending => ErrorCode::OfferPending,
        SfuError::NoOfferPending => ErrorCode::NoOfferPending,
        SfuError::Whiteboard(_) => ErrorCode::Whiteboard,
        SfuError::Invalid(_) => ErrorCode::BadMessage,
        SfuError::Unavailable => ErrorCode::Unavailable,
    };
    error(code, e.to_string(), fatal)
}

impl Hub {
    pub fn new(
        settings: Settings,
        tokens: RoomTokens,
        media: Media,
        clock: Arc<dyn Clock>,
        registry: &prometheus::Registry,
    ) -> Hub {
        Hub {
            settings,
            tokens,
            media,
            clock,
            sessions: Mutex::new(Sessions::new(MAX_BUFFER)),
            expired: Mutex::default(),
            sockets: AtomicU64::new(0),
            metrics: Metrics::new(registry),
        }
    }

    pub fn media(&self) -> &Media {
        &self.media
    }

    pub fn next_socket(&self) -> SocketId {
        self.sockets.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sessions held and rooms they are in.
    pub fn counts(&self) -> (usize, usize) {
        let s = self.lock();
        (s.len(), s.rooms())
    }

    fn claims(&self, room: &str, token: &str, resuming: bool) -> Result<RoomClaims, SignalError> {
        let checked = match resuming {
            true => self.tokens.verify_signature(token),
            false => self.tokens.verify(token, self.clock.now_ms() / 1000),
        };
        let claims = checked.map_err(|e| match e {
            RoomTokenError::Invalid => error(ErrorCode::TokenInvalid, e.to_string(), true),
            RoomTokenError::Expired => error(ErrorCode::TokenExpired, e.to_string(), true),
        })?;
        if claims.room != room {
            return Err(error(
                ErrorCode::TokenWrongRoom,
                format!("the token is for another room than {room:?}"),
                true,
            ));
        }
        Ok(claims)
    }

    /// A `join` on `socket`. On success the welcome is queued on `outbox`
    /// ahead of anything buffered for the session.
    pub async fn join(
        &self,
        socket: SocketId,
        outbox: &Outbox,
        message: ClientMessage,
    ) -> Result<Joined, SignalError> {
        let ClientMessage::Join {
            room,
            token,
            resume,
            offer,
            tracks,
        } = message
        else {
            return Err(error(ErrorCode::NotJoined, "send join first", false));
        };
        let claims = self.claims(&room, &token, resume.is_some())?;
        if let Some(session) = resume {
            return self.resume(socket, outbox, claims, session);
        }
        let old = self.lock().find(&room, &claims.sub).map(str::to_owned);
        if let Some(old) = old {
            // The same participant again without resuming: a reload, or a
            // second tab. The newest socket wins.
            self.end(&old, ClosedReason::Replaced).await;
        }
        let session = new_session_id();
        self.lock().insert(&session, &room, &claims.sub);
        let join = Join {
            room: room.clone(),
            participant: claims.sub.clone(),
            role: claims.role,
            may_publish: claims.publish.clone(),
            offer,
            tracks,
        };
        let welcome = match self.media.join(join).await {
            Ok(w) => w,
            Err(e) => {
                self.lock().remove(&session);
                return Err(sfu_error(e, true));
            }
        };
        let roster = Roster {
            participants: welcome
                .participants
                .iter()
                .map(|p| (p.participant.clone(), p.role))
                .chain([(claims.sub.clone(), claims.role)])
                .collect(),
            tracks: welcome
                .tracks
                .iter()
                .map(|t| (t.track, t.clone()))
                .collect(),
        };
        let message = self.welcome(&session, &claims, &roster, Some(welcome.sdp), false);
        let mut sessions = self.lock();
        sessions.set_roster(&room, roster);
        let _ = outbox.try_send(message);
        sessions.attach(&session, socket, outbox.clone(), false);
        self.metrics.joins.with_label_values(&["fresh"]).inc();
        Ok(Joined {
            session,
            room,
            participant: claims.sub,
        })
    }

    fn resume(
        &self,
        socket: SocketId,
        outbox: &Outbox,
        claims: RoomClaims,
        session: String,
    ) -> Result<Joined, SignalError> {
        let mut sessions = self.lock();
        if let Err(e) = sessions.check_resume(&session, &claims.room, &claims.sub) {
            self.metrics
                .joins
                .with_label_values(&["resume_refused"])
                .inc();
            let why = match e {
                ResumeError::Unknown => "no session of this participant is waiting to resume",
                ResumeError::Overflowed => "too much happened while away; join afresh",
            };
            return Err(error(ErrorCode::ResumeRefused, why, true));
        }
        let roster = sessions.roster(&claims.room).cloned().unwrap_or_default();
        let _ = outbox.try_send(self.welcome(&session, &claims, &roster, None, true));
        if let Some(previous) = sessions.attach(&session, socket, outbox.clone(), true) {
            let _ = previous.try_send(ServerMessage::Closed {
                reason: ClosedReason::Replaced,
            });
        }
        self.metrics.joins.with_label_values(&["resumed"]).inc();
        Ok(Joined {
            session,
            room: claims.room,
            participant: claims.sub,
        })
    }

    fn welcome(
        &self,
        session: &str,
        claims: &RoomClaims,
        roster: &Roster,
        sdp: Option<Sdp>,
        resumed: bool,
    ) -> ServerMessage {
        ServerMessage::Welcome(Box::new(Welcome {
            session: session.to_owned(),
            room: claims.room.clone(),
            participant: claims.sub.clone(),
            role: claims.role,
            may_publish: claims.publish.clone(),
            call: claims.call.clone(),
            participants: roster.participants(),
            tracks: roster.tracks(),
            ice_servers: self.settings.ice_servers.clone(),
            sdp,
            resumed,
            resume_grace_ms: self.settings.resume_grace.as_millis() as u32,
        }))
    }

    /// Any message after `join`; returns what to answer on the socket.
    pub async fn request(
        &self,
        joined: &Joined,
        message: ClientMessage,
    ) -> Result<Option<ServerMessage>, SignalError> {
        let answering = matches!(message, ClientMessage::Answer { .. });
        let request = match message {
            ClientMessage::Join { .. } => {
                return Err(error(
                    ErrorCode::AlreadyJoined,
                    "this socket has joined",
                    false,
                ))
            }
            ClientMessage::Ping { id } => return Ok(Some(ServerMessage::Pong { id })),
            ClientMessage::Leave => {
                self.end(&joined.session, ClosedReason::Left).await;
                return Ok(None);
            }
            ClientMessage::Offer { sdp, tracks } => Request::Offer { sdp, tracks },
            ClientMessage::Answer { sdp } => Request::Answer { sdp },
            ClientMessage::Subscribe { track, want } => Request::Want { track, want },
            ClientMessage::Mute { track, muted } => Request::Mute { track, muted },
            ClientMessage::Remove { participant } => Request::Remove {
                target: participant,
            },
        };
        match self
            .media
            .request(&joined.room, &joined.participant, request)
            .await
        {
            Ok(_) if answering => {
                self.lock().answered(&joined.session);
                Ok(None)
            }
            Ok(Some(Sdp::Answer(sdp))) => Ok(Some(ServerMessage::Answer { sdp })),
            Ok(Some(Sdp::Offer(sdp))) => Ok(Some(ServerMessage::Offer { sdp })),
            Ok(None) => Ok(None),
            Err(e) => Err(sfu_error(e, false)),
        }
    }

    /// The socket of a joined session broke: keep the session for the grace
    /// period, then take the participant out of the room.
    pub fn detach(self: &Arc<Self>, joined: &Joined, socket: SocketId) {
        let Some(epoch) = self.lock().detach(&joined.session, socket) else {
            return;
        };
        let hub = self.clone();
        let session = joined.session.clone();
        tokio::spawn(async move {
            tokio::time::sleep(hub.settings.resume_grace).await;
            let removed = {
                let mut sessions = hub.lock();
                match sessions.still_detached(&session, epoch) {
                    true => sessions.remove(&session),
                    false => None,
                }
            };
            if let Some((room, participant, _)) = removed {
                hub.expired
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((room.clone(), participant.clone()));
                tracing::info!(%room, %participant, "session not resumed in time");
                let _ = hub.media.request(&room, &participant, Request::Leave).await;
            }
        });
    }

    /// Ends a session for `reason`: its client is told, its participant
    /// leaves the room.
    async fn end(&self, session: &str, reason: ClosedReason) {
        let removed = self.lock().remove(session);
        if let Some((room, participant, socket)) = removed {
            if let Some(socket) = socket {
                let _ = socket.try_send(ServerMessage::Closed { reason });
            }
            if reason != ClosedReason::RemovedByHost {
                let _ = self
                    .media
                    .request(&room, &participant, Request::Leave)
                    .await;
            }
        }
    }

    /// What an SFU event tells the clients here.
    pub async fn on_event(&self, event: Event) {
        let mut ended = None;
        {
            let mut s = self.lock();
            let room = event.room().to_owned();
            if s.roster(&room).is_none() {
                return;
            }
            match event {
                Event::Joined {
                    participant, role, ..
                } => {
                    s.confirm(&room, &participant);
                    if let Some(r) = s.roster_mut(&room) {
                        r.participants.insert(participant.clone(), role);
                    }
                    let message = ServerMessage::ParticipantJoined {
                        participant: ParticipantInfo {
                            participant: participant.clone(),
                            role,
                        },
                    };
                    s.broadcast(&room, Some(&participant), &message);
                }
                Event::Left {
                    participant,
                    removed_by_host,
                    ..
                } => {
                    if let Some(r) = s.roster_mut(&room) {
                        r.participants.remove(&participant);
                        r.tracks.retain(|_, t| t.owner != participant);
                    }
                    let expired = self
                        .expired
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&(room.clone(), participant.clone()));
                    let reason = match (removed_by_host, expired) {
                        (true, _) => LeftReason::RemovedByHost,
                        (false, true) => LeftReason::Disconnected,
                        (false, false) => LeftReason::Left,
                    };
                    s.broadcast(
                        &room,
                        Some(&participant),
                        &ServerMessage::ParticipantLeft {
                            participant: participant.clone(),
                            reason,
                        },
                    );
                    // The SFU took out a participant this service still
                    // holds: the host removed it, or its media path died.
                    if let Some(session) = s.confirmed(&room, &participant) {
                        ended = Some((
                            session,
                            match removed_by_host {
                                true => ClosedReason::RemovedByHost,
                                false => ClosedReason::ConnectionLost,
                            },
                        ));
                    }
                }
                Event::Published { track, .. } => {
                    if let Some(r) = s.roster_mut(&room) {
                        r.tracks.insert(track.track, track.clone());
                    }
                    s.broadcast(&room, None, &ServerMessage::TrackPublished { track });
                }
                Event::Unpublished { track, .. } => {
                    if let Some(r) = s.roster_mut(&room) {
                        r.tracks.remove(&track);
                    }
                    s.broadcast(&room, None, &ServerMessage::TrackUnpublished { track });
                }
                Event::Muted {
                    track,
                    muted,
                    by_host,
                    ..
                } => {
                    if let Some(t) = s.roster_mut(&room).and_then(|r| r.tracks.get_mut(&track)) {
                        t.muted = muted;
                    }
                    let message = ServerMessage::TrackMuted {
                        track,
                        muted,
                        by_host,
                    };
                    s.broadcast(&room, None, &message);
                }
                Event::Speakers { participants, .. } => {
                    s.broadcast(&room, None, &ServerMessage::Speakers { participants });
                }
                Event::Layers {
                    participant,
                    track,
                    rids,
                    ..
                } => s.send_to(&room, &participant, ServerMessage::Layers { track, rids }),
                Event::Renegotiate {
                    participant, offer, ..
                } => s.offer(&room, &participant, offer),
                Event::Error {
                    participant, error, ..
                } => s.send_to(
                    &room,
                    &participant,
                    ServerMessage::Error(sfu_error(error, false)),
                ),
            }
        }
        if let Some((session, reason)) = ended {
            self.end(&session, reason).await;
        }
    }

    /// A call status from the control plane, for one participant or the
    /// whole room. An ended call closes the sessions it reaches.
    pub async fn on_call_status(&self, update: CallStatusUpdate) {
        let ended = update.status.ended.is_some();
        let sessions: Vec<String> = {
            let mut s = self.lock();
            let message = ServerMessage::CallStatus(update.status);
            match &update.participant {
                Some(p) => {
                    s.send_to(&update.room, p, message);
                    s.find(&update.room, p)
                        .map(str::to_owned)
                        .into_iter()
                        .collect()
                }
                None => {
                    s.broadcast(&update.room, None, &message);
                    s.members(&update.room)
                }
            }
        };
        if ended {
            for session in sessions {
                self.end(&session, ClosedReason::CallEnded).await;
            }
        }
    }
}

fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
