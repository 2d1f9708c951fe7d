//! FILE uploads (the body read after the header, written to disk off the
//! actor thread, then indexed and announced) and FETCH downloads.

use std::future::Future;
use std::path::PathBuf;

use super::*;
use crate::core::cluster::wire::SharedFile;
use crate::core::files::link::link_path;
use crate::core::files::quota::{QuotaRefusal, QuotaRules, Uploader};
use crate::core::files::{Reservation, ReserveUpload};

/// Where a finished upload is announced.
pub(super) enum Destination {
    /// A room the sender is in.
    Room(RoomHandle, RoomName),
    /// A user, looked up when the upload is complete.
    User(Nick),
}

/// Who a finished upload is announced to.
enum Recipient {
    /// A user of this node.
    Here(Inbox),
    /// A room's members (on every node).
    Room(RoomHandle),
    /// Cluster mode: a user of another node.
    Elsewhere,
}

/// An upload being written to disk.
pub(super) struct Storing {
    dest: Destination,
    filename: String,
    /// `None` while a chunk is being written, or after a failure.
    sink: Option<UploadSink>,
    /// Body bytes not yet handed to the sink.
    pending: BytesMut,
    /// Writing failed: the rest of the body is read and dropped.
    failed: bool,
    /// Its room under `files.max_total_bytes`, once taken.
    reservation: Option<Reservation>,
    /// Counts it in `chatroom_uploads_in_flight` while it lives.
    _counted: crate::telemetry::UploadGuard,
}

/// What to do with the raw body of a `FILE` that is being read.
// The session boxes it whole: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Upload {
    /// Read it and throw it away, then answer with this error.
    Discard(ProtocolError),
    /// Store it and share it.
    Store(Storing),
}

/// Bytes gathered before one write to disk.
const UPLOAD_CHUNK: usize = 64 * 1024;

impl Session {
    pub(super) fn on_body(&mut self, chunk: Bytes, ctx: &mut Context<Self>) {
        let Some(Upload::Store(up)) = self.upload.as_deref_mut() else {
            return;
        };
        if up.failed {
            return;
        }
        up.pending.extend_from_slice(&chunk);
        if up.pending.len() >= UPLOAD_CHUNK {
            self.write_upload_chunk(ctx);
        }
    }

    /// Hands the gathered bytes to the sink off-thread; the session reads
    /// no further until they are written (back-pressure).
    pub(super) fn write_upload_chunk(&mut self, ctx: &mut Context<Self>) {
        let Some(Upload::Store(up)) = self.upload.as_deref_mut() else {
            return;
        };
        let Some(sink) = up.sink.take() else {
            up.failed = true;
            return;
        };
        let chunk = up.pending.split().freeze();
        ctx.wait(
            sink.write(chunk)
                .into_actor(self)
                .map(|res, act, _| act.sink_ready(res)),
        );
    }

    /// Puts the sink back after a write (or its creation), or marks the
    /// upload failed.
    pub(super) fn sink_ready(&mut self, res: std::io::Result<UploadSink>) {
        if let Err(e) = &res {
            warn!(parent: &self.span, %e, "cannot write an upload");
        }
        if let Some(Upload::Store(up)) = self.upload.as_deref_mut() {
            match res {
                Ok(sink) => up.sink = Some(sink),
                Err(_) => up.failed = true,
            }
        }
    }

    pub(super) fn on_body_end(&mut self, ctx: &mut Context<Self>) {
        match self.upload.take().map(|up| *up) {
            Some(Upload::Discard(e)) => self.send(e),
            Some(Upload::Store(up)) => self.finish_upload(up, ctx),
            None => warn!(parent: &self.span, "file body without a header"),
        }
    }

    pub(super) fn finish_upload(&mut self, up: Storing, ctx: &mut Context<Self>) {
        let (Some(from), Some(sink), false, Some(reservation)) =
            (self.nick.clone(), up.sink, up.failed, up.reservation)
        else {
            return self.error(
                Verb::File,
                ErrorCode::Internal,
                "the file could not be stored",
            );
        };
        let dir = self.state.core.config().files.dir.clone();
        let retention = Duration::from_secs(self.state.core.config().files.retention_secs);
        let cluster = self.state.core.cluster.clone();
        let store = self.state.core.files.clone();
        let registry = self.state.core.directory.clone();
        let who = MemberKey::new(self.id, &from);
        let pending = up.pending.freeze();
        let (dest, filename) = (up.dest, up.filename);
        let work = async move {
            let internal = |e: std::io::Error| {
                warn!(%e, "cannot store an upload");
                ErrorCode::Internal
            };
            let sink = if pending.is_empty() {
                sink
            } else {
                sink.write(pending).await.map_err(internal)?
            };
            let id = FileId::fresh();
            let stored = sink
                .finish(dir.clone(), id.clone())
                .await
                .map_err(internal)?;
            let (target, recipient) = match dest {
                Destination::Room(addr, name) => (FileTarget::Room(name), Recipient::Room(addr)),
                Destination::User(nick) => {
                    let found = registry.send(FindNick {
                        nick: nick.folded().clone(),
                    });
                    let found = match (found.await, &cluster) {
                        (Ok(Some((nick, inbox))), _) => Ok((nick, Recipient::Here(inbox))),
                        // Cluster mode: on another node, perhaps.
                        (_, Some(cluster)) => match cluster.locate(&nick).await {
                            Ok(Some(user)) => Ok((user.card.nick, Recipient::Elsewhere)),
                            Ok(None) => Err(ErrorCode::NoSuchNick),
                            Err(e) => {
                                warn!(%e, "cannot look the file's recipient up in Redis");
                                Err(ErrorCode::ClusterUnavailable)
                            }
                        },
                        _ => Err(ErrorCode::NoSuchNick),
                    };
                    match found {
                        Ok((nick, recipient)) => (FileTarget::User(nick), recipient),
                        Err(code) => {
                            let _ = tokio::fs::remove_file(files::content_path(&dir, &id)).await;
                            return Err(code);
                        }
                    }
                }
            };
            let file = FileRecord {
                id: id.clone(),
                target: target.clone(),
                from: from.clone(),
                size: stored.size,
                sha256: stored.sha256.clone(),
                filename: filename.clone(),
                stored: SystemTime::now(),
            };
            // Cluster mode: a room's file, or one for a user of another
            // node, is kept in Redis too, before it is announced on any
            // node, so that any node can serve it.
            let kept = match (&cluster, &recipient) {
                (Some(cluster), Recipient::Room(_) | Recipient::Elsewhere) => Some((
                    cluster.clone(),
                    SharedFile {
                        origin: cluster.node_id().to_string(),
                        userhost: UserHost::native(),
                        record: file.clone(),
                    },
                )),
                _ => None,
            };
            // Indexed before it is announced, so an immediate FETCH finds it.
            store
                .send(AddFile { file, reservation })
                .await
                .map_err(|_| ErrorCode::Internal)?;
            if let Some((cluster, shared)) = &kept {
                let path = files::content_path(&dir, &id);
                if let Err(e) = cluster.keep_file(shared, path, retention).await {
                    warn!(%e, %id, "shared file not kept in Redis");
                    store.do_send(RemoveFile { id });
                    return Err(ErrorCode::ClusterUnavailable);
                }
            }
            let event = Event::File {
                target,
                from,
                userhost: UserHost::native(),
                id: id.clone(),
                size: stored.size,
                sha256: stored.sha256.clone(),
                filename,
            };
            let announced = match recipient {
                Recipient::Here(inbox) => {
                    inbox.send(&event);
                    Ok(())
                }
                Recipient::Room(room) => match room.send(room::ShareFile { who, event }).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(ErrorCode::NotInRoom),
                },
                Recipient::Elsewhere => match kept {
                    Some((cluster, shared)) => {
                        let FileTarget::User(to) = &shared.record.target else {
                            return Err(ErrorCode::Internal);
                        };
                        match cluster.send_file(to.clone(), &shared).await {
                            Ok(Some(_)) => Ok(()),
                            // Gone since it was looked up.
                            Ok(None) => Err(ErrorCode::NoSuchNick),
                            Err(e) => {
                                warn!(%e, "file announcement not sent to its node");
                                Err(ErrorCode::ClusterUnavailable)
                            }
                        }
                    }
                    None => Err(ErrorCode::Internal),
                },
            };
            if let Err(code) = announced {
                store.do_send(RemoveFile { id });
                return Err(code);
            }
            Ok((id, stored))
        };
        ctx.wait(work.into_actor(self).map(|res, act, _| match res {
            Ok((id, stored)) => {
                info!(parent: &act.span, %id, size = stored.size, "file shared");
                act.send(OkReply::File {
                    id,
                    sha256: stored.sha256,
                });
            }
            Err(ErrorCode::NoSuchNick) => {
                act.error(Verb::File, ErrorCode::NoSuchNick, "no such user is online")
            }
            Err(ErrorCode::NotInRoom) => {
                act.error(Verb::File, ErrorCode::NotInRoom, "you left the room")
            }
            Err(ErrorCode::ClusterUnavailable) => act.error(
                Verb::File,
                ErrorCode::ClusterUnavailable,
                "the cluster cannot be reached: the file is not shared",
            ),
            Err(code) => act.error(Verb::File, code, "the file could not be stored"),
        }));
    }

    pub(super) fn cmd_file(
        &mut self,
        target: FileTarget,
        size: u64,
        filename: String,
        ctx: &mut Context<Self>,
    ) {
        // The codec read the body under the bound of when the connection
        // came; a reload may have lowered it since. The body is read (the
        // stream stays in sync) and refused, the connection kept.
        let max = self.state.core.config().files.max_bytes;
        if size > max {
            let e = ProtocolError::new(
                Verb::File,
                ErrorCode::FileTooLarge,
                format!("files are limited to {max} bytes"),
            );
            self.upload = Some(Box::new(Upload::Discard(e)));
            return;
        }
        let dest = match target {
            FileTarget::Room(room) => match self.joined(room.folded()) {
                Some(j) => Destination::Room(j.addr.clone(), j.name().clone()),
                None => {
                    let e = ProtocolError::new(
                        Verb::File,
                        ErrorCode::NotInRoom,
                        format!("you are not in {room}"),
                    );
                    self.upload = Some(Box::new(Upload::Discard(e)));
                    return;
                }
            },
            FileTarget::User(nick) => Destination::User(nick),
        };
        // FILE before NICK is refused before it comes here.
        let Some(user) = self.nick().map(|n| n.folded().clone()) else {
            let e = ProtocolError::new(Verb::File, ErrorCode::NoNick, "set a nickname first");
            self.upload = Some(Box::new(Upload::Discard(e)));
            return;
        };
        self.upload = Some(Box::new(Upload::Store(Storing {
            dest,
            filename,
            sink: None,
            pending: BytesMut::new(),
            failed: false,
            reservation: None,
            _counted: crate::telemetry::upload(),
        })));
        let config = self.state.core.config();
        let exempt = config.limits.exempt_ips.iter().any(|p| p.contains(self.ip));
        let reserve = ReserveUpload {
            size,
            who: Uploader {
                user,
                ip: (!exempt).then_some(self.ip),
            },
            rules: QuotaRules::of(&config.files),
        };
        let store = self.state.core.files.clone();
        let dir = config.files.dir.clone();
        // The body waits (the context reads nothing meanwhile) until the
        // room is taken: a refused upload stores not one byte.
        let work = async move {
            let reservation = match store.send(reserve).await {
                Ok(Ok(reservation)) => reservation,
                Ok(Err(why)) => return Err(Some(why)),
                Err(_) => return Err(None),
            };
            let sink = UploadSink::create(dir).await;
            Ok((reservation, sink))
        };
        ctx.wait(work.into_actor(self).map(|res, act, _| match res {
            Ok((reservation, sink)) => {
                if let Some(Upload::Store(up)) = act.upload.as_deref_mut() {
                    up.reservation = Some(reservation);
                }
                act.sink_ready(sink);
            }
            Err(why) => {
                let e = act.quota_refusal(why);
                act.upload = Some(Box::new(Upload::Discard(e)));
            }
        }));
    }

    /// What an upload refused room is answered, after its body.
    fn quota_refusal(&self, why: Option<QuotaRefusal>) -> ProtocolError {
        let config = self.state.core.config();
        let files = &config.files;
        let (code, text) = match why {
            Some(QuotaRefusal::Total) => (
                ErrorCode::QuotaExceeded,
                "no room for the file: the server keeps at most files.max_total_bytes of files"
                    .to_string(),
            ),
            Some(QuotaRefusal::Uploader) => (
                ErrorCode::QuotaExceeded,
                format!(
                    "upload quota: at most {} bytes every {} seconds",
                    files.upload_quota_bytes, files.upload_quota_window_secs
                ),
            ),
            None => (ErrorCode::Internal, "the file could not be stored".into()),
        };
        ProtocolError::new(Verb::File, code, text)
    }

    /// The file `id` with the path of its content, if the client may
    /// fetch it now: the one entitlement rule of FETCH and LINK.
    fn entitled(
        &self,
        id: FileId,
    ) -> Option<impl Future<Output = Option<(FileRecord, PathBuf)>> + 'static> {
        let nick = self.nick().cloned()?;
        let rooms = self.room_keys();
        let store = self.state.core.files.clone();
        Some(async move {
            let (file, path) = store.send(GetFile { id }).await.ok()??;
            file.may_fetch(&nick, |room| rooms.contains(room))
                .then_some((file, path))
        })
    }

    pub(super) fn cmd_fetch(&mut self, asked: FetchId, ctx: &mut Context<Self>) {
        // A word that is no id names no file: the same answer as for an
        // unknown id.
        let FetchId::Id(id) = &asked else {
            return self.no_such_file(Verb::Fetch, &asked);
        };
        let Some(lookup) = self.entitled(id.clone()) else {
            return;
        };
        let elsewhere = self.fetch_elsewhere(id.clone());
        let work = async move {
            let Some((file, path)) = lookup.await else {
                return elsewhere?.await;
            };
            // Opened now: a retention sweep during the download is harmless.
            let content = tokio::fs::File::open(path).await.ok()?;
            Some((file, content))
        };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Some((file, content)) => {
                info!(parent: &act.span, id = %file.id, "fetch");
                act.send(Reply::Data {
                    id: file.id.clone(),
                    size: file.size,
                    filename: file.filename,
                });
                let _ = act.queue.push_body(FileBody {
                    file: content,
                    size: file.size,
                });
                act.send(OkReply::Fetch(file.id));
            }
            None => act.no_such_file(Verb::Fetch, &asked),
        }));
    }

    /// Cluster mode: file `id` as Redis keeps it (shared in a room on
    /// another node), if this client may fetch it, its content spooled to
    /// a temporary file here; `None` standalone.
    fn fetch_elsewhere(
        &self,
        id: FileId,
    ) -> Option<impl Future<Output = Option<(FileRecord, tokio::fs::File)>> + 'static> {
        self.state.core.cluster.as_ref()?;
        let nick = self.nick().cloned()?;
        let rooms = self.room_keys();
        let found = self.state.core.file_elsewhere(id);
        Some(async move {
            let (file, content) = found.await?;
            file.may_fetch(&nick, |room| rooms.contains(room))
                .then_some((file, content))
        })
    }

    /// LINK: where a browser downloads the file, with a token that proves
    /// for a while what FETCH would check now.
    pub(super) fn cmd_link(&mut self, asked: FetchId, ctx: &mut Context<Self>) {
        let FetchId::Id(id) = &asked else {
            return self.no_such_file(Verb::Link, &asked);
        };
        let Some(lookup) = self.entitled(id.clone()) else {
            return;
        };
        // Cluster mode: a file another node received is downloaded from
        // this node's HTTP listener all the same (read from Redis there).
        let elsewhere = self.nick().cloned().map(|nick| {
            let rooms = self.room_keys();
            let record = self.state.core.file_record_elsewhere(id.clone());
            async move {
                let file = record.await?;
                file.may_fetch(&nick, |room| rooms.contains(room))
                    .then_some(file)
            }
        });
        let work = async move {
            match lookup.await {
                Some((file, _)) => Some(file),
                None => elsewhere?.await,
            }
        };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Some(file) => {
                let token = act.state.core.links.issue(&file.id, SystemTime::now());
                debug!(parent: &act.span, id = %file.id, "link");
                act.send(OkReply::Link {
                    path: link_path(&file.id, &token),
                    id: file.id,
                });
            }
            None => act.no_such_file(Verb::Link, &asked),
        }));
    }

    /// The one answer for a file that is unknown, expired, or not the
    /// client's to fetch: which of these is not told.
    fn no_such_file(&self, verb: Verb, asked: &FetchId) {
        self.error(
            verb,
            ErrorCode::NoSuchFile,
            format!("no file {asked} for you"),
        );
    }
}
