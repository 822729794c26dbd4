//! Statements run on the writer's SQLite connection from the applying task
//! itself, without a round trip to sqlx's connection thread per statement.
//!
//! sqlx runs each statement on a thread of its own and wakes the waiting
//! task with the answer. On a small virtual machine those wake-ups cost far
//! more than SQLite's own work (a profile of the write benchmark put a
//! third of all samples in futex and eventfd), so a command of six
//! statements paid six of them. [`Raw::lock`] takes the connection from
//! that thread once (one round trip), and the statements a command needs
//! then run here, one after another, as plain calls into SQLite.
//!
//! A [`Raw`] lives for one stretch of work: its prepared statements are
//! finalized when it is dropped, while the connection is still locked (a
//! statement left behind would stop sqlx from closing the connection).

use std::collections::HashMap;
use std::ffi::{CStr, c_int};
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use sqlx::sqlite::LockedSqliteHandle;

use crate::{Result, StoreError};

/// The writer's connection, locked away from sqlx's thread, with the
/// statements prepared on it so far.
pub(crate) struct Raw<'c> {
    // Kept for its lock: while it lives, sqlx's thread makes no call on
    // the connection.
    _handle: LockedSqliteHandle<'c>,
    db: NonNull<ffi::sqlite3>,
    statements: HashMap<Box<str>, NonNull<ffi::sqlite3_stmt>>,
}

// SAFETY: the pointers are used only through `&mut Raw`, one call at a
// time, while the lock is held; SQLite's connection (opened without its
// own mutex) may move between threads as long as no two use it at once.
unsafe impl Send for Raw<'_> {}

/// A value bound to a statement's `?`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The values of a statement's `?`s, in order: `params![a, b]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::raw::Value::from($value)),*]
    };
}
pub(crate) use params;

impl<'c> Raw<'c> {
    /// Takes the connection from sqlx's thread until the `Raw` is dropped.
    /// Inside a transaction begun through sqlx, the statements run here are
    /// part of it.
    pub(crate) async fn lock(conn: &'c mut SqliteConnection) -> Result<Raw<'c>> {
        let mut handle = conn.lock_handle().await?;
        let db = handle.as_raw_handle();
        Ok(Raw { _handle: handle, db, statements: HashMap::new() })
    }

    /// Runs a statement that answers no rows (or whose rows are not
    /// wanted); answers how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64> {
        self.each(sql, params, |_| Ok(true))?;
        // SAFETY: the connection is open and locked to us.
        Ok(unsafe { ffi::sqlite3_changes(self.db.as_ptr()) }.try_into().unwrap_or(0))
    }

    /// The first row a query answers, read by `read`, if there is one.
    pub(crate) fn optional<T>(&mut self, sql: &str, params: &[Value<'_>], read: impl FnOnce(&Row) -> Result<T>) -> Result<Option<T>> {
        let (mut read, mut first) = (Some(read), None);
        self.each(sql, params, |row| {
            first = Some(read.take().expect("read once")(row)?);
            Ok(false)
        })?;
        Ok(first)
    }

    /// The one row a query must answer (an aggregate), read by `read`.
    pub(crate) fn one<T>(&mut self, sql: &str, params: &[Value<'_>], read: impl FnOnce(&Row) -> Result<T>) -> Result<T> {
        self.optional(sql, params, read)?.ok_or_else(|| StoreError::Corrupt(format!("no row from a query that always answers one: {sql}")))
    }

    /// Every row a query answers, each read by `read`.
    pub(crate) fn all<T>(&mut self, sql: &str, params: &[Value<'_>], mut read: impl FnMut(&Row) -> Result<T>) -> Result<Vec<T>> {
        let mut rows = Vec::new();
        self.each(sql, params, |row| {
            rows.push(read(row)?);
            Ok(true)
        })?;
        Ok(rows)
    }

    /// Binds `params`, steps through the rows while `row` answers true,
    /// and leaves the statement reset for its next use.
    fn each(&mut self, sql: &str, params: &[Value<'_>], mut row: impl FnMut(&Row) -> Result<bool>) -> Result<()> {
        let stmt = self.prepared(sql)?;
        let outcome = (|| {
            // SAFETY: `stmt` is a live statement of this locked connection;
            // text is copied by SQLite (`SQLITE_TRANSIENT`).
            unsafe {
                let expected = ffi::sqlite3_bind_parameter_count(stmt.as_ptr());
                if expected != params.len() as c_int {
                    return Err(StoreError::Corrupt(format!("{} values for {expected} placeholders in: {sql}", params.len())));
                }
                for (i, value) in params.iter().enumerate() {
                    let at = i as c_int + 1;
                    let code = match value {
                        Value::Null => ffi::sqlite3_bind_null(stmt.as_ptr(), at),
                        Value::Int(v) => ffi::sqlite3_bind_int64(stmt.as_ptr(), at, *v),
                        Value::Text(v) => {
                            ffi::sqlite3_bind_text64(stmt.as_ptr(), at, v.as_ptr().cast(), v.len() as u64, ffi::SQLITE_TRANSIENT(), ffi::SQLITE_UTF8 as u8)
                        }
                    };
                    self.check(code)?;
                }
                loop {
                    match ffi::sqlite3_step(stmt.as_ptr()) {
                        ffi::SQLITE_ROW => {
                            if !row(&Row { stmt })? {
                                return Ok(());
                            }
                        }
                        ffi::SQLITE_DONE => return Ok(()),
                        code => return self.check(code),
                    }
                }
            }
        })();
        // SAFETY: as above. `reset` repeats the step's error, already taken.
        unsafe {
            ffi::sqlite3_reset(stmt.as_ptr());
            ffi::sqlite3_clear_bindings(stmt.as_ptr());
        }
        outcome
    }

    /// The statement for `sql`, prepared on first use.
    fn prepared(&mut self, sql: &str) -> Result<NonNull<ffi::sqlite3_stmt>> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(*stmt);
        }
        let mut stmt = ptr::null_mut();
        // SAFETY: the connection is open and locked to us; `sql` outlives
        // the call and its length is given.
        let code = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                sql.len() as c_int,
                ffi::SQLITE_PREPARE_PERSISTENT as u32,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        self.check(code)?;
        let stmt = NonNull::new(stmt).ok_or_else(|| StoreError::Corrupt(format!("no statement in: {sql}")))?;
        self.statements.insert(sql.into(), stmt);
        Ok(stmt)
    }

    /// `Ok` for `SQLITE_OK`; else the connection's error, with its
    /// extended code (constraints are told apart by it, see `Failure`).
    fn check(&self, code: c_int) -> Result<()> {
        if code == ffi::SQLITE_OK {
            return Ok(());
        }
        // SAFETY: the connection is open and locked to us; the message is
        // copied before any other call.
        let (code, message) = unsafe {
            let message = CStr::from_ptr(ffi::sqlite3_errmsg(self.db.as_ptr())).to_string_lossy().into_owned();
            (ffi::sqlite3_extended_errcode(self.db.as_ptr()), message)
        };
        Err(StoreError::Sqlite { code, message })
    }
}

impl Drop for Raw<'_> {
    fn drop(&mut self) {
        for (_, stmt) in self.statements.drain() {
            // SAFETY: each was prepared on this connection, is finalized
            // once, and the lock is still held (fields drop after this).
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
        }
    }
}

/// The row a statement stands on, for the length of one call of a reader.
pub(crate) struct Row {
    stmt: NonNull<ffi::sqlite3_stmt>,
}

impl Row {
    /// The position of the column named `name`.
    fn index(&self, name: &str) -> Result<c_int> {
        // SAFETY: the statement stands on a row; names are valid C strings
        // while it does.
        unsafe {
            for i in 0..ffi::sqlite3_column_count(self.stmt.as_ptr()) {
                let column = ffi::sqlite3_column_name(self.stmt.as_ptr(), i);
                if !column.is_null() && CStr::from_ptr(column).to_bytes() == name.as_bytes() {
                    return Ok(i);
                }
            }
        }
        Err(StoreError::Corrupt(format!("no column named {name}")))
    }

    fn is_null(&self, i: c_int) -> bool {
        // SAFETY: `i` is a column of the row the statement stands on.
        unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), i) == ffi::SQLITE_NULL }
    }

    fn int(&self, i: c_int) -> i64 {
        // SAFETY: as in `is_null`.
        unsafe { ffi::sqlite3_column_int64(self.stmt.as_ptr(), i) }
    }

    fn text(&self, i: c_int) -> Result<&str> {
        // SAFETY: as in `is_null`; the text stays valid until the statement
        // steps or is reset, which cannot happen while `self` is borrowed.
        let bytes = unsafe {
            let text = ffi::sqlite3_column_text(self.stmt.as_ptr(), i);
            let len = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), i);
            if text.is_null() { &[][..] } else { std::slice::from_raw_parts(text, len as usize) }
        };
        std::str::from_utf8(bytes).map_err(|e| StoreError::Corrupt(format!("column {i} is not UTF-8: {e}")))
    }

    /// The column at position `i` (for answers of one or two columns,
    /// where a name would only repeat the statement).
    pub(crate) fn at<'r, T: FromColumn<'r>>(&'r self, i: c_int) -> Result<T> {
        T::read(self, i)
    }
}

/// A row read by column name: sqlx's rows and [`Row`] alike, so that one
/// function turns either into a model type (`rows`).
pub(crate) trait Columns {
    fn get<'r, T: FromColumn<'r>>(&'r self, name: &str) -> Result<T>;
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn get<'r, T: FromColumn<'r>>(&'r self, name: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
}

impl Columns for Row {
    fn get<'r, T: FromColumn<'r>>(&'r self, name: &str) -> Result<T> {
        T::read(self, self.index(name)?)
    }
}

/// A Rust type a column is read as, from either kind of row.
pub(crate) trait FromColumn<'r>: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Sized {
    fn read(row: &'r Row, i: c_int) -> Result<Self>;
}

fn not_null(row: &Row, i: c_int) -> Result<()> {
    if row.is_null(i) { Err(StoreError::Corrupt(format!("column {i} is NULL where a value is required"))) } else { Ok(()) }
}

impl FromColumn<'_> for i64 {
    fn read(row: &Row, i: c_int) -> Result<Self> {
        not_null(row, i)?;
        Ok(row.int(i))
    }
}

impl FromColumn<'_> for i32 {
    fn read(row: &Row, i: c_int) -> Result<Self> {
        not_null(row, i)?;
        row.int(i).try_into().map_err(|_| StoreError::Corrupt(format!("column {i} is out of range")))
    }
}

impl FromColumn<'_> for bool {
    fn read(row: &Row, i: c_int) -> Result<Self> {
        not_null(row, i)?;
        Ok(row.int(i) != 0)
    }
}

impl<'r> FromColumn<'r> for &'r str {
    fn read(row: &'r Row, i: c_int) -> Result<Self> {
        not_null(row, i)?;
        row.text(i)
    }
}

impl FromColumn<'_> for String {
    fn read(row: &Row, i: c_int) -> Result<Self> {
        not_null(row, i)?;
        row.text(i).map(str::to_owned)
    }
}

impl<'r, T: FromColumn<'r>> FromColumn<'r> for Option<T> {
    fn read(row: &'r Row, i: c_int) -> Result<Self> {
        if row.is_null(i) { Ok(None) } else { T::read(row, i).map(Some) }
    }
}
