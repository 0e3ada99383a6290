//! Leases on a run folder in a bucket: the lock a shared file system gives through `flock`,
//! for machines that share nothing but the bucket.
//!
//! A lease is one small object beside the run (`<prefix>/.dasynth-locks/<scope>.lock`, scope
//! `whole` or `shard-I-of-N`) written with a conditional PUT: created only if absent
//! (`If-None-Match: *` on S3, generation 0 on GCS), renewed and taken over only at the version
//! last seen (`If-Match`, generation match). The store decides every race, so of two machines
//! that start the same shard at the same moment exactly one holds it; the other is refused with
//! the holder's name.
//!
//! The holder renews the lease at every push of its staging copy ([`crate::remote`]); a lease
//! not renewed for the stale time (a machine that died) may be taken over, as may one whose
//! holder is a process of this very machine that no longer runs (a rerun after `kill -9`). A
//! holder that finds its lease taken over stops pushing: another machine now owns that work.

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Who holds a lease, as written into its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// When it took the lease (RFC 3339).
    pub since: String,
    /// Unique per acquisition, so a holder tells its own lease from a successor's.
    pub token: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {} since {}", self.pid, self.host, self.since)
    }
}

impl Holder {
    fn mine() -> Holder {
        let (host, pid) = (crate::host(), std::process::id());
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Holder { token: format!("{host}-{pid}-{nanos:x}"), host, pid, since: crate::now() }
    }

    /// A process of this machine that no longer runs.
    fn gone_from_here(&self) -> bool {
        self.host == crate::host() && self.pid != std::process::id() && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// A lease this process holds.
#[derive(Debug)]
pub struct Lease {
    key: ObjectPath,
    holder: Holder,
    version: UpdateVersion,
}

/// Why a lease could not be taken or kept.
#[derive(Debug)]
pub enum LeaseError {
    /// Another process holds it and renewed it `renewed_secs` ago.
    Held { holder: Option<Holder>, renewed_secs: u64 },
    /// Another process took it over from this one (this one was too slow to renew it).
    Lost { holder: Option<Holder> },
    /// The store does not do conditional writes (some S3-compatible servers).
    Unsupported(String),
    /// The store failed (network, permissions).
    Store(String),
}

impl std::fmt::Display for LeaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = |h: &Option<Holder>| h.as_ref().map_or_else(|| "another process".to_string(), Holder::to_string);
        match self {
            LeaseError::Held { holder, renewed_secs } => write!(f, "in use by {} (renewed {renewed_secs} s ago)", who(holder)),
            LeaseError::Lost { holder } => write!(f, "taken over by {}", who(holder)),
            LeaseError::Unsupported(m) | LeaseError::Store(m) => f.write_str(m),
        }
    }
}

/// The object key of the lease on `scope` of the run under `prefix`.
pub fn key(prefix: &ObjectPath, scope: &str) -> ObjectPath {
    prefix.clone().join(".dasynth-locks").join(format!("{scope}.lock"))
}

/// The holder written in the lease at `key`, if it is there and readable.
async fn read_holder(store: &dyn ObjectStore, key: &ObjectPath) -> Option<Holder> {
    let bytes = store.get(key).await.ok()?.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn payload(h: &Holder) -> PutPayload {
    PutPayload::from(serde_json::to_vec(h).unwrap_or_default())
}

fn put(mode: PutMode) -> PutOptions {
    PutOptions { mode, ..PutOptions::default() }
}

fn version(r: object_store::PutResult) -> UpdateVersion {
    UpdateVersion { e_tag: r.e_tag, version: r.version }
}

/// Takes the lease at `key`: creates it, or takes over one that went `stale_after` without a
/// renewal or whose holder was a process of this machine that is gone.
pub async fn acquire(store: &dyn ObjectStore, key: &ObjectPath, stale_after: Duration) -> Result<Lease, LeaseError> {
    let holder = Holder::mine();
    for _ in 0..3 {
        match store.put_opts(key, payload(&holder), put(PutMode::Create)).await {
            Ok(r) => return Ok(Lease { key: key.clone(), holder, version: version(r) }),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {}
            Err(e @ (object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. })) => {
                return Err(LeaseError::Unsupported(e.to_string()));
            }
            Err(e) => return Err(LeaseError::Store(e.to_string())),
        }
        let found = match store.get(key).await {
            Ok(found) => found,
            // Released between the two requests: try to create it again.
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(LeaseError::Store(e.to_string())),
        };
        let meta = found.meta.clone();
        let other = found.bytes().await.ok().and_then(|b| serde_json::from_slice::<Holder>(&b).ok());
        let renewed_secs = (chrono::Utc::now() - meta.last_modified).num_seconds().max(0) as u64;
        let stale = renewed_secs >= stale_after.as_secs() || other.as_ref().is_some_and(Holder::gone_from_here);
        if !stale {
            return Err(LeaseError::Held { holder: other, renewed_secs });
        }
        let was = UpdateVersion { e_tag: meta.e_tag, version: meta.version };
        match store.put_opts(key, payload(&holder), put(PutMode::Update(was))).await {
            Ok(r) => {
                tracing::warn!(lease = %key, previous = %other.map_or_else(|| "unknown".into(), |h| h.to_string()), "took over a stale lease");
                return Ok(Lease { key: key.clone(), holder, version: version(r) });
            }
            // Someone else took it over (or renewed it) first: look again.
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(LeaseError::Store(e.to_string())),
        }
    }
    Err(LeaseError::Held { holder: None, renewed_secs: 0 })
}

impl Lease {
    /// Writes the lease again at the version last written, so it does not go stale.
    pub async fn renew(&mut self, store: &dyn ObjectStore) -> Result<(), LeaseError> {
        match store.put_opts(&self.key, payload(&self.holder), put(PutMode::Update(self.version.clone()))).await {
            Ok(r) => {
                self.version = version(r);
                Ok(())
            }
            Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
                let now = read_holder(store, &self.key).await;
                Err(LeaseError::Lost { holder: now.filter(|h| h.token != self.holder.token) })
            }
            Err(e) => Err(LeaseError::Store(e.to_string())),
        }
    }

    /// Gives the lease up (deletes its object).
    pub async fn release(self, store: &dyn ObjectStore) -> Result<(), LeaseError> {
        match store.delete(&self.key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(LeaseError::Store(e.to_string())),
        }
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn one_holder_at_a_time_and_a_stale_or_orphaned_lease_is_taken_over() {
        let store = InMemory::new();
        let key = key(&ObjectPath::from("runs/r1"), "shard-0000-of-0002");
        assert_eq!(key.as_ref(), "runs/r1/.dasynth-locks/shard-0000-of-0002.lock");
        rt().block_on(async {
            let mut first = acquire(&store, &key, Duration::from_secs(300)).await.expect("first");
            // Held and fresh: refused, naming the holder.
            match acquire(&store, &key, Duration::from_secs(300)).await {
                Err(LeaseError::Held { holder: Some(h), .. }) => assert_eq!(h, first.holder),
                other => panic!("{other:?}"),
            }
            first.renew(&store).await.expect("renew");
            // Stale (here: a stale time of zero): taken over, and the first holder learns it lost.
            let second = acquire(&store, &key, Duration::ZERO).await.expect("takeover");
            match first.renew(&store).await {
                Err(LeaseError::Lost { holder: Some(h) }) => assert_eq!(h.token, second.holder.token),
                other => panic!("{other:?}"),
            }
            second.release(&store).await.expect("release");
            let third = acquire(&store, &key, Duration::from_secs(300)).await.expect("free again");

            // A holder on this machine whose process is gone: taken over at once.
            let orphan = Holder { pid: u32::MAX - 1, ..third.holder.clone() };
            store.put(&key, payload(&orphan)).await.unwrap();
            acquire(&store, &key, Duration::from_secs(300)).await.expect("orphaned lease taken over");
            // One on another machine is not, however its pid looks here.
            let elsewhere = Holder { host: "elsewhere".into(), ..orphan };
            store.put(&key, payload(&elsewhere)).await.unwrap();
            match acquire(&store, &key, Duration::from_secs(300)).await {
                Err(e @ LeaseError::Held { .. }) => assert!(e.to_string().contains("on elsewhere"), "{e}"),
                other => panic!("{other:?}"),
            }
        });
    }
}
