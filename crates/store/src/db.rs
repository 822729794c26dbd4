//! The writer's statements, run on a SQLite connection the state machine
//! owns (rusqlite), on the applying thread itself.
//!
//! Why not sqlx, as the readers: a sqlx statement is a hand-off to sqlx's
//! connection thread and a wake-up back, and a document write runs a dozen
//! of them in its transaction; the hand-offs cost more than the statements.
//! Here a statement is a function call.
//!
//! The builder keeps sqlx's shape (`query(..).bind(..).fetch_optional(conn)`,
//! `query_scalar`, `query_as` for tuples), so that the apply code reads like
//! the readers' queries. Every statement is prepared once per connection
//! and kept (`prepare_cached`): the state machine runs the same few
//! statements over and over.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::rc::Rc;

use rusqlite::types::{FromSql, ToSql, Value, ValueRef};

/// The writer's connection.
pub(crate) type Conn = rusqlite::Connection;

/// How a result row is read: as a [`Record`], a tuple, or its first column.
pub(crate) trait Decode {
    type Out;
    fn decode(row: &rusqlite::Row<'_>, names: &Rc<[String]>) -> rusqlite::Result<Self::Out>;
}

/// A statement and its bound values, read as `D`.
pub(crate) struct Query<'q, D = Record> {
    sql: Cow<'q, str>,
    args: Vec<Box<dyn ToSql + 'q>>,
    decode: PhantomData<D>,
}

/// A statement whose rows are read as [`Record`]s.
pub(crate) fn query<'q, S: Into<Cow<'q, str>>>(sql: S) -> Query<'q, Record> {
    Query { sql: sql.into(), args: Vec::new(), decode: PhantomData }
}

/// A statement whose rows are read as their first column, a `T`.
pub(crate) fn query_scalar<'q, S: Into<Cow<'q, str>>, T: FromSql>(sql: S) -> Query<'q, Scalar<T>> {
    Query { sql: sql.into(), args: Vec::new(), decode: PhantomData }
}

/// A statement whose rows are read as tuples `T`, column by column.
pub(crate) fn query_as<'q, S: Into<Cow<'q, str>>, T: Tuple>(sql: S) -> Query<'q, As<T>> {
    Query { sql: sql.into(), args: Vec::new(), decode: PhantomData }
}

impl<'q, D: Decode> Query<'q, D> {
    /// Binds the next `?`.
    pub(crate) fn bind<V: ToSql + 'q>(mut self, value: V) -> Self {
        self.args.push(Box::new(value));
        self
    }

    /// Runs the statement; answers how many rows it changed.
    pub(crate) fn execute(self, conn: &Conn) -> rusqlite::Result<u64> {
        let mut statement = conn.prepare_cached(&self.sql)?;
        Ok(statement.execute(rusqlite::params_from_iter(self.args.iter()))? as u64)
    }

    pub(crate) fn fetch_all(self, conn: &Conn) -> rusqlite::Result<Vec<D::Out>> {
        self.read(conn, usize::MAX)
    }

    pub(crate) fn fetch_optional(self, conn: &Conn) -> rusqlite::Result<Option<D::Out>> {
        Ok(self.read(conn, 1)?.pop())
    }

    /// The first row; an error if there is none.
    pub(crate) fn fetch_one(self, conn: &Conn) -> rusqlite::Result<D::Out> {
        self.fetch_optional(conn)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
    }

    /// Up to `limit` rows. A statement that writes (`RETURNING`) is stepped
    /// to its end whatever the limit, so that its writes all happen; one
    /// that only reads stops at the limit.
    fn read(self, conn: &Conn, limit: usize) -> rusqlite::Result<Vec<D::Out>> {
        let mut statement = conn.prepare_cached(&self.sql)?;
        let names: Rc<[String]> = statement.column_names().into_iter().map(str::to_owned).collect();
        let only_reads = statement.readonly();
        let mut rows = statement.query(rusqlite::params_from_iter(self.args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            if out.len() < limit {
                out.push(D::decode(row, &names)?);
            } else if only_reads {
                break;
            }
        }
        Ok(out)
    }
}

/// A row read whole, its columns by name or by position: what the model's
/// row readers (`rows`) take from either connection.
pub(crate) struct Record {
    names: Rc<[String]>,
    values: Vec<Value>,
}

impl Decode for Record {
    type Out = Record;
    fn decode(row: &rusqlite::Row<'_>, names: &Rc<[String]>) -> rusqlite::Result<Record> {
        let values = (0..names.len()).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<_>>()?;
        Ok(Record { names: names.clone(), values })
    }
}

impl Record {
    /// The column at `index`, as a `T`.
    pub(crate) fn at<T: FromSql>(&self, index: usize) -> rusqlite::Result<T> {
        let value = self.values.get(index).ok_or(rusqlite::Error::InvalidColumnIndex(index))?;
        T::column_result(ValueRef::from(value)).map_err(|e| match e {
            rusqlite::types::FromSqlError::InvalidType => {
                rusqlite::Error::InvalidColumnType(index, self.names[index].clone(), ValueRef::from(value).data_type())
            }
            other => rusqlite::Error::FromSqlConversionFailure(index, ValueRef::from(value).data_type(), Box::new(other)),
        })
    }

    /// The column named `name`, as a `T`.
    pub(crate) fn named<T: FromSql>(&self, name: &str) -> rusqlite::Result<T> {
        let index = self.names.iter().position(|n| n == name).ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))?;
        self.at(index)
    }
}

/// Reads a row's first column.
pub(crate) struct Scalar<T>(PhantomData<T>);

impl<T: FromSql> Decode for Scalar<T> {
    type Out = T;
    fn decode(row: &rusqlite::Row<'_>, _: &Rc<[String]>) -> rusqlite::Result<T> {
        row.get(0)
    }
}

/// Reads a row as a tuple.
pub(crate) struct As<T>(PhantomData<T>);

/// A tuple of columns, read in order.
pub(crate) trait Tuple: Sized {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

impl<T: Tuple> Decode for As<T> {
    type Out = T;
    fn decode(row: &rusqlite::Row<'_>, _: &Rc<[String]>) -> rusqlite::Result<T> {
        T::read(row)
    }
}

macro_rules! decode_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> Tuple for ($($t,)+) {
            fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}
decode_tuple!(A 0, B 1);
decode_tuple!(A 0, B 1, C 2);
decode_tuple!(A 0, B 1, C 2, D 3);
decode_tuple!(A 0, B 1, C 2, D 3, E 4);
decode_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
decode_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);

/// Runs `f` inside a savepoint: what it wrote is kept if it answers `Ok`
/// and undone if it answers `Err`. Savepoints nest (SQLite rolls back to
/// the newest of the name).
pub(crate) fn savepoint<T, E: From<rusqlite::Error>>(conn: &Conn, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    conn.prepare_cached("SAVEPOINT step")?.execute([])?;
    match f() {
        Ok(kept) => {
            conn.prepare_cached("RELEASE step")?.execute([])?;
            Ok(kept)
        }
        Err(e) => {
            conn.prepare_cached("ROLLBACK TO step")?.execute([])?;
            conn.prepare_cached("RELEASE step")?.execute([])?;
            Err(e)
        }
    }
}
