//! A fresh, migrated database per test: a SQLite file in a temporary
//! directory, or a new PostgreSQL database dropped when the test ends.

// Each test binary uses a part of it.
#![allow(dead_code)]

use platform::Database;
use sqlx::Connection;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test function once per backend:
/// `both_backends!(a, b)` makes `sqlite::a`, `postgres::a`, ...
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::testdb::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::testdb::Backend::Postgres).await } )*
        }
    };
}

pub struct TestDb {
    pub db: Database,
    /// For a second process on the same database (the ledger's crash test).
    pub url: String,
    /// Holds the SQLite file, and whatever else the test keeps on disk.
    pub dir: tempfile::TempDir,
    pg_database: Option<String>,
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("di_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this test (run scripts/test): {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let (base, _) = admin.rsplit_once('/').unwrap();
                (format!("{base}/{name}"), Some(name))
            }
        };
        let db = Database::connect(&url).await.unwrap();
        control::migrate(&db).await.unwrap();
        TestDb {
            db,
            url,
            dir,
            pg_database,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            // Drop runs outside async; a short-lived runtime on its own thread
            // removes the per-test database.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}
