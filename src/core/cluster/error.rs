//! What can go wrong between a node and Redis.

/// Why the cluster could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// `cluster.redis_url` does not parse as a Redis address.
    #[error("cluster.redis_url: {0}")]
    BadUrl(#[source] redis::RedisError),
    /// Redis refused or failed the command, or the connection is down.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the node's bound.
    #[error("Redis did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// This node's lease was gone and could not be renewed in time.
    #[error("this node's lease in Redis could not be renewed")]
    LeaseLost,
    /// Redis's answer did not come, or made no sense: the outcome is
    /// unknown.
    #[error("no answer from Redis")]
    Unanswered,
    /// Redis got the command only after the node had given up on it, and
    /// refused it (`clock.rs`): not done.
    #[error("Redis got the command after its deadline, and did not run it")]
    Late,
    /// The node's worker is gone (the server is stopping).
    #[error("the cluster worker stopped")]
    Stopped,
}
