//! Cluster mode: users connected to other nodes, for the front ends (a
//! private message to one, WHOIS of one). A standalone server answers
//! "nobody" at once, without a Redis call: its users are all local.

use std::future::Future;

use super::Services;
use crate::core::cluster::wire::Direct;
use crate::core::cluster::{ClusterError, RemoteUser};
use crate::core::names::Nick;
use crate::core::store::FileRecord;
use crate::core::{ErrorCode, FileId};

impl Services {
    /// Hands a private message to the node holding its recipient (a user
    /// not on this node); answers that user once its node has it, `None`
    /// when no node holds the nickname (or standalone), and
    /// `ClusterUnavailable` when Redis or the node's inbox cannot be
    /// reached (not known to be delivered). The message's `origin` is
    /// set here.
    pub fn send_elsewhere(
        &self,
        mut message: Direct,
    ) -> impl Future<Output = Result<Option<RemoteUser>, ErrorCode>> + 'static {
        let sent = self.cluster.as_ref().map(|cluster| {
            message.origin = cluster.node_id().to_string();
            cluster.send_direct(&message)
        });
        async move {
            let Some(sent) = sent else { return Ok(None) };
            sent.await
                .map_err(|e| unavailable(&e, "private message not sent"))
        }
    }

    /// The user holding `nick` on another node (WHOIS), `None` when no
    /// other node holds it (or standalone); `ClusterUnavailable` when
    /// Redis cannot be asked.
    pub fn find_elsewhere(
        &self,
        nick: &Nick,
    ) -> impl Future<Output = Result<Option<RemoteUser>, ErrorCode>> + 'static {
        let asked = self.cluster.as_ref().map(|cluster| cluster.locate(nick));
        async move {
            let Some(asked) = asked else { return Ok(None) };
            asked
                .await
                .map_err(|e| unavailable(&e, "cannot look a user up in Redis"))
        }
    }

    /// The users holding `nicks` on other nodes, in the order asked
    /// (`None` for a nick no other node holds; all `None` standalone);
    /// `ClusterUnavailable` when Redis cannot be asked.
    pub fn find_all_elsewhere(
        &self,
        nicks: Vec<Nick>,
    ) -> impl Future<Output = Result<Vec<Option<RemoteUser>>, ErrorCode>> + 'static {
        let n = nicks.len();
        let asked = self
            .cluster
            .as_ref()
            .map(|cluster| cluster.locate_all(nicks));
        async move {
            let Some(asked) = asked else {
                return Ok(vec![None; n]);
            };
            asked
                .await
                .map_err(|e| unavailable(&e, "cannot look users up in Redis"))
        }
    }
}

impl Services {
    /// Cluster mode: the record of file `id` as Redis keeps it (received
    /// on another node); `None` when Redis has none, cannot be asked, or
    /// standalone. Who may have it is the caller's to check.
    pub fn file_record_elsewhere(
        &self,
        id: FileId,
    ) -> impl Future<Output = Option<FileRecord>> + 'static {
        let cluster = self.cluster.clone();
        async move {
            let shared = cluster?.file_record(&id).await.ok()??;
            Some(shared.record)
        }
    }

    /// Cluster mode: file `id` as Redis keeps it, its content spooled to
    /// a temporary file here (`files.dir`) to be streamed as a file of
    /// this node's is; `None` as for [`Services::file_record_elsewhere`],
    /// or when the content is not all there.
    pub fn file_elsewhere(
        &self,
        id: FileId,
    ) -> impl Future<Output = Option<(FileRecord, tokio::fs::File)>> + 'static {
        let cluster = self.cluster.clone();
        let dir = self.config().files.dir.clone();
        async move {
            let cluster = cluster?;
            let file = cluster.file_record(&id).await.ok()??.record;
            let body = cluster.file_body(&id).await.ok()??;
            if body.len() as u64 != file.size {
                return None;
            }
            let content = crate::core::files::content::spool(dir, body)
                .await
                .map_err(|e| tracing::warn!(%e, "cannot spool a file from Redis"))
                .ok()?;
            Some((file, content))
        }
    }
}

fn unavailable(e: &ClusterError, what: &'static str) -> ErrorCode {
    tracing::warn!(%e, "{what}");
    ErrorCode::ClusterUnavailable
}
