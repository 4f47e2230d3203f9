//! The object store for uploaded files (photos, documents, video messages).
//! A local directory by default; keys are relative paths. Video messages
//! arrive in chunks (`write_at`) and are played in byte ranges (`read_range`).

use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct ObjectStore {
    root: PathBuf,
}

impl ObjectStore {
    pub fn local(root: PathBuf) -> Self {
        ObjectStore { root }
    }

    pub fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if !safe {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("bad object key {key:?}"),
            ));
        }
        Ok(self.root.join(key))
    }

    /// Writes atomically: readers see the old object or the new one, never half.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir).await?;
        let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    }

    pub async fn get(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `bytes` at `offset` of the object, made empty on first use.
    /// The caller orders chunks (messaging records the offset reached); a
    /// chunk written again after an interruption overwrites the same bytes.
    pub async fn write_at(&self, key: &str, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::{AsyncSeekExt, AsyncWriteExt};
        let path = self.path(key)?;
        tokio::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .await?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        file.write_all(bytes).await?;
        file.sync_data().await
    }

    /// `len` bytes of the object from `offset` (fewer at its end); `None`
    /// when there is no such object.
    pub async fn read_range(
        &self,
        key: &str,
        offset: u64,
        len: u64,
    ) -> std::io::Result<Option<Vec<u8>>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = match tokio::fs::File::open(self.path(key)?).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        let mut out = Vec::new();
        file.take(len).read_to_end(&mut out).await?;
        Ok(Some(out))
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_and_refuse_escaping_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::local(dir.path().to_owned());
        store.put("photos/a/b.jpg", vec![1, 2]).await.unwrap();
        assert_eq!(store.get("photos/a/b.jpg").await.unwrap(), Some(vec![1, 2]));
        store.delete("photos/a/b.jpg").await.unwrap();
        assert_eq!(store.get("photos/a/b.jpg").await.unwrap(), None);
        store.delete("photos/a/b.jpg").await.unwrap();
        store.write_at("v/x.webm", 0, b"abc").await.unwrap();
        store.write_at("v/x.webm", 3, b"def").await.unwrap();
        store.write_at("v/x.webm", 3, b"de").await.unwrap();
        assert_eq!(
            store.get("v/x.webm").await.unwrap(),
            Some(b"abcdef".to_vec())
        );
        assert_eq!(
            store.read_range("v/x.webm", 2, 3).await.unwrap(),
            Some(b"cde".to_vec())
        );
        assert_eq!(
            store.read_range("v/x.webm", 4, 10).await.unwrap(),
            Some(b"ef".to_vec())
        );
        assert_eq!(store.read_range("v/none", 0, 1).await.unwrap(), None);
        for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", ""] {
            assert!(store.put(bad, vec![]).await.is_err(), "{bad}");
        }
    }
}
