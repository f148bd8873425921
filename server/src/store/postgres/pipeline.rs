//! Writes sent to the database and waited for later, so that PostgreSQL
//! writes while the server works out what comes next.
//!
//! Two kinds:
//! - a statement, polled once so that tokio-postgres hands it to the
//!   connection ([`send`]), and read when waited for;
//! - a `COPY` of rows, started by the caller (one round trip) and fed by
//!   a task of its own ([`copy`]), so that it ends whether or not the
//!   caller is waiting: the statements sent after it queue behind it on
//!   the connection, and nothing they wait for depends on the caller.
//!
//! A `COPY` takes the database about half the time of inserting the same
//! rows from arrays (`UNNEST`, with `ON CONFLICT DO NOTHING` for the
//! change log): 100,000 change log rows in 0.37–0.39 s against
//! 0.73–0.80 s, 1,000,000 persons in 4.2 s against 6.7 s, by hand.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use futures_sink::Sink;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{CopyInSink, Row, RowStream};

use crate::store::StoreError;

/// A statement sent to the database, whose answer is still to be read.
pub(super) type Sent<'c> =
    Pin<Box<dyn Future<Output = Result<RowStream, tokio_postgres::Error>> + Send + 'c>>;

/// Polls `statement` once, which hands it to the connection (tokio-postgres
/// sends a statement when its future is first polled), and returns it to
/// be awaited later. PostgreSQL answers a statement only once it has run,
/// so awaiting it at once would wait for the write to end.
pub(super) async fn send(mut statement: Sent<'_>) -> Sent<'_> {
    std::future::poll_fn(|cx| {
        // Ready already (an error, say): awaiting it again is not allowed,
        // so it is kept as a finished future.
        Poll::Ready(match statement.as_mut().poll(cx) {
            Poll::Pending => None,
            Poll::Ready(r) => Some(r),
        })
    })
    .await
    .map_or(statement, |r| Box::pin(std::future::ready(r)))
}

/// The rows `sent` answers, once it has run.
pub(super) async fn rows(sent: Sent<'_>) -> Result<Vec<Row>, StoreError> {
    let mut stream = Box::pin(sent.await?);
    let mut rows = Vec::new();
    while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        rows.push(row?);
    }
    Ok(rows)
}

/// The start of the binary `COPY` format: its signature, no flags, no
/// header extension.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// `rows` in the binary `COPY` format, as one buffer: sent as one message
/// (tokio-postgres's `BinaryCopyInWriter` sends one every 4 KiB, and each
/// wakes the connection's task: a million persons took ~40,000 `sendto`
/// and as many futex and epoll calls, a second of system time).
fn encode<const N: usize, R: CopyRows<N>>(
    rows: &R,
    types: &[Type; N],
) -> Result<Bytes, StoreError> {
    let columns = i16::try_from(N).map_err(|e| StoreError::Task(e.to_string()))?;
    let mut buf = BytesMut::with_capacity(COPY_HEADER.len() + rows.len() * 64 * N);
    buf.put_slice(COPY_HEADER);
    for i in 0..rows.len() {
        buf.put_i16(columns);
        for (value, ty) in rows.row(i).into_iter().zip(types) {
            let at = buf.len();
            buf.put_i32(0);
            let len = match value
                .to_sql_checked(ty, &mut buf)
                .map_err(|e| StoreError::Task(format!("{} as {ty}: {e}", R::WHAT)))?
            {
                IsNull::Yes => -1,
                IsNull::No => i32::try_from(buf.len() - at - 4)
                    .map_err(|e| StoreError::Task(format!("{}: {e}", R::WHAT)))?,
            };
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
    buf.put_i16(-1);
    Ok(buf.freeze())
}

/// Rows to copy, `N` columns each, owned by the task that sends them.
pub(super) trait CopyRows<const N: usize>: Send + 'static {
    /// What the rows are, for an error.
    const WHAT: &'static str;
    fn len(&self) -> usize;
    /// Row `i`'s values, in the `COPY`'s column order.
    fn row(&self, i: usize) -> [&(dyn ToSql + Sync); N];
}

/// A write sent to the database and not yet waited for.
pub(super) struct Running<'c> {
    /// Its end: the number of rows it wrote, when the database says.
    done: Pin<Box<dyn Future<Output = Result<Option<u64>, StoreError>> + Send + 'c>>,
    /// The rows it must write, where a shortfall means another server
    /// wrote one of them meanwhile; `None`: not checked.
    expected: Option<usize>,
    /// What the shortfall is reported as.
    race: &'static str,
}

impl<'c> Running<'c> {
    /// A statement [`send`] sent.
    pub fn statement(sent: Sent<'c>, expected: Option<usize>, race: &'static str) -> Running<'c> {
        Running {
            done: Box::pin(async move {
                let mut stream = Box::pin(sent.await?);
                while let Some(row) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
                {
                    row?;
                }
                Ok(stream.rows_affected())
            }),
            expected,
            race,
        }
    }

    /// Waits for the write to end, and checks that it wrote all of its
    /// rows.
    pub async fn done(self) -> Result<(), StoreError> {
        let wrote = self.done.await?;
        match self.expected {
            Some(n) if wrote.and_then(|r| usize::try_from(r).ok()) != Some(n) => {
                Err(StoreError::Retry(self.race.into()))
            }
            _ => Ok(()),
        }
    }
}

/// Sends `rows` through `sink` (a `COPY … FROM STDIN (FORMAT binary)` of
/// columns of `types` the database has started) from a task of its own.
/// A row another server wrote meanwhile fails the copy on its key
/// (23505), which runs the call again as a race.
pub(super) fn copy<const N: usize, R: CopyRows<N>>(
    sink: CopyInSink<Bytes>,
    types: &'static [Type; N],
    rows: R,
    race: &'static str,
) -> Running<'static> {
    let expected = rows.len();
    let task = tokio::spawn(async move {
        let data = encode(&rows, types)?;
        let mut sink = std::pin::pin!(sink);
        std::future::poll_fn(|cx| sink.as_mut().poll_ready(cx)).await?;
        sink.as_mut().start_send(data)?;
        Ok::<u64, StoreError>(sink.as_mut().finish().await?)
    });
    Running {
        done: Box::pin(async move {
            match task.await {
                Ok(copied) => Ok(Some(copied?)),
                Err(e) => Err(StoreError::Task(format!("the copy of {}: {e}", R::WHAT))),
            }
        }),
        expected: Some(expected),
        race,
    }
}

/// Why a pipelined batch of statements failed. Once one statement fails,
/// PostgreSQL answers every later one "current transaction is aborted"
/// (25P02), which says nothing of why, and the futures may report in
/// either order; the cause may be worth running the transaction again
/// for (a person another server wrote first), so it is the one returned.
pub(super) fn first_cause(
    results: impl IntoIterator<Item = Result<(), StoreError>>,
) -> Result<(), StoreError> {
    let aborted = tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION.code();
    let mut echo = None;
    for result in results {
        match result {
            Ok(()) => {}
            Err(StoreError::Database(m)) if m.starts_with(aborted) => {
                echo.get_or_insert(StoreError::Database(m));
            }
            Err(cause) => return Err(cause),
        }
    }
    echo.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_of_a_failed_pipeline_wins_over_its_echoes() {
        let echo = || {
            Err(StoreError::Database(
                "25P02: current transaction is aborted".into(),
            ))
        };
        let cause = || Err(StoreError::Retry("23505: duplicate key value".into()));
        // Whichever statement reports first, the cause is returned.
        for results in [[echo(), cause(), Ok(())], [cause(), echo(), echo()]] {
            assert!(
                matches!(first_cause(results), Err(StoreError::Retry(m)) if m.starts_with("23505"))
            );
        }
        // Only echoes (the cause was elsewhere): still an error.
        assert!(matches!(
            first_cause([Ok(()), echo(), echo()]),
            Err(StoreError::Database(_))
        ));
        assert!(first_cause([Ok(()), Ok(()), Ok(())]).is_ok());
    }
}
