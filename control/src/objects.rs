//! The object store for uploaded files (photos now; documents and video
//! messages later). A local directory by default; keys are relative paths.

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
        for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", ""] {
            assert!(store.put(bad, vec![]).await.is_err(), "{bad}");
        }
    }
}
