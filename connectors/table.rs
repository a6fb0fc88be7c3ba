//! Tables declared once.
//!
//! A result or record table is a row type declared with [`table!`](crate::table): the
//! table's name, its Kafka topic and its columns — each a struct field whose type says the
//! column's SQL type (see [`Columns`]), the primary key first. Everything else is derived
//! from that one declaration ([`Record`]): the DDL ([`Table::ddl`]), the row and key as
//! JSON objects (results files, Kafka topics, the dashboard), the typed cells PostgreSQL's
//! binary `COPY` writes, and a key read back from a table's key columns. The tables one sink
//! writes are the variants of a row enum and a key enum declared with
//! [`tables!`](crate::tables) ([`TableRow`], [`TableKey`]).
//!
//! ```
//! use ballotflow::connectors::table::{Record, TableKey, TableRow};
//!
//! ballotflow::table! {
//!     /// Counted votes per party.
//!     #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
//!     pub struct PartyVotes in "party_votes", topic "aggregated_party_votes" {
//!         key {
//!             /// The party.
//!             pub party: String,
//!         }
//!         /// Counted votes.
//!         pub votes: i64,
//!         /// When the count last changed.
//!         pub updated: i64 as Timestamptz,
//!     }
//! }
//! ballotflow::tables! {
//!     /// A row of any of the example's tables.
//!     pub enum Row / Key { Party(PartyVotes) }
//! }
//!
//! let row = Row::from(PartyVotes { party: "Green".into(), votes: 3, updated: 0 });
//! assert_eq!(row.to_json(), serde_json::json!({"party": "Green", "votes": 3, "updated": "1970-01-01T00:00:00.000Z"}));
//! assert_eq!(row.key().key_json(), serde_json::json!({"party": "Green"}));
//! assert_eq!(PartyVotes::table().topic, "aggregated_party_votes");
//! assert!(PartyVotes::table().ddl().contains("\"updated\" timestamptz NOT NULL,\n    PRIMARY KEY (\"party\")"));
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use ordered_float::OrderedFloat;
use serde_json::Value;

use crate::connectors::dataset::format_millis;

/// A column's SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    /// `text`
    Text,
    /// `integer`
    Integer,
    /// `bigint`
    BigInt,
    /// `double precision`
    Double,
    /// `boolean`
    Boolean,
    /// `timestamptz`, from milliseconds since the epoch; RFC 3339 UTC in JSON.
    Timestamptz,
}

impl SqlType {
    /// The type as SQL spells it.
    pub fn sql(self) -> &'static str {
        match self {
            SqlType::Text => "text",
            SqlType::Integer => "integer",
            SqlType::BigInt => "bigint",
            SqlType::Double => "double precision",
            SqlType::Boolean => "boolean",
            SqlType::Timestamptz => "timestamptz",
        }
    }
}

/// A column of a [`Table`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: SqlType,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A table, as a [`table!`](crate::table) declaration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The table's name (a plain lower-case identifier).
    pub name: &'static str,
    /// The Kafka topic its rows are published to.
    pub topic: &'static str,
    /// Every column, the key columns first.
    pub columns: Vec<Column>,
    /// How many of the first columns are the primary key.
    pub keys: usize,
    /// Columns with an index of their own.
    pub indexes: Vec<&'static str>,
}

impl Table {
    /// A table of `columns`, the first `keys` of them its primary key.
    pub fn new(name: &'static str, topic: &'static str, columns: Vec<Column>, keys: usize) -> Self {
        assert!(keys >= 1 && keys <= columns.len(), "table {name}: the key is some of the first columns");
        Table { name, topic, columns, keys, indexes: Vec::new() }
    }

    /// The table with an index on each of `columns`.
    pub fn indexed(mut self, columns: &[&'static str]) -> Self {
        assert!(columns.iter().all(|c| self.columns.iter().any(|column| column.name == *c)), "table {}: indexes are on its columns", self.name);
        self.indexes = columns.to_vec();
        self
    }

    /// The primary key's columns.
    pub fn key_columns(&self) -> &[Column] {
        &self.columns[..self.keys]
    }

    /// The table's DDL, idempotent: `CREATE TABLE IF NOT EXISTS`, then `ADD COLUMN IF NOT
    /// EXISTS` for every nullable column, so a schema created before such a column was
    /// declared gains it, and the indexes.
    pub fn ddl(&self) -> String {
        let mut lines: Vec<String> = self.columns.iter().map(|c| format!("    \"{}\" {}{}", c.name, c.ty.sql(), if c.nullable { "" } else { " NOT NULL" })).collect();
        let keys: Vec<String> = self.key_columns().iter().map(|c| format!("\"{}\"", c.name)).collect();
        lines.push(format!("    PRIMARY KEY ({})", keys.join(", ")));
        let mut ddl = format!("CREATE TABLE IF NOT EXISTS \"{}\" (\n{}\n);\n", self.name, lines.join(",\n"));
        for column in self.columns.iter().filter(|c| c.nullable) {
            ddl += &format!("ALTER TABLE \"{}\" ADD COLUMN IF NOT EXISTS \"{}\" {};\n", self.name, column.name, column.ty.sql());
        }
        for column in &self.indexes {
            ddl += &format!("CREATE INDEX IF NOT EXISTS \"{0}_by_{1}\" ON \"{0}\" (\"{1}\");\n", self.name, column);
        }
        ddl
    }

    /// The cells `fill` appends (all columns, or the key columns) as a JSON object.
    pub fn json<'a>(&self, fill: impl FnOnce(&mut Vec<Cell<'a>>)) -> Value {
        let mut cells = Vec::with_capacity(self.columns.len());
        fill(&mut cells);
        Value::Object(self.columns.iter().zip(&cells).map(|(column, cell)| (column.name.clone(), cell.to_json(column.ty))).collect())
    }
}

/// One column's value: what a row gives a table, typed by the column's [`SqlType`].
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// No value.
    Null,
    /// Text.
    Text(Cow<'a, str>),
    /// An integer, or milliseconds since the epoch in a `timestamptz` column.
    Int(i64),
    /// A number.
    Float(f64),
    /// A truth value.
    Bool(bool),
}

impl Cell<'_> {
    /// The value in JSON, as a column of type `ty` holds it (times as RFC 3339 UTC text).
    pub fn to_json(&self, ty: SqlType) -> Value {
        match (self, ty) {
            (Cell::Null, _) => Value::Null,
            (Cell::Int(ms), SqlType::Timestamptz) => format_millis(*ms).into(),
            (Cell::Text(text), _) => text.as_ref().into(),
            (Cell::Int(n), _) => (*n).into(),
            (Cell::Float(x), _) => (*x).into(),
            (Cell::Bool(b), _) => (*b).into(),
        }
    }
}

/// A type that fills one or more columns of a row: one named after the field for a plain
/// value, `<field>_<part>` for each part of a composite one.
pub trait Columns {
    /// How many columns a value fills.
    const WIDTH: usize = 1;
    /// Appends the columns a field `name` of this type fills.
    fn columns(name: &str, out: &mut Vec<Column>);
    /// Appends the value's cells, one per column.
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>);
}

/// A type that can be a primary key: it comes back from its key columns' cells.
pub trait KeyColumns: Columns + Sized {
    /// The value of the next cells of `cells`; `None` if they do not hold one.
    fn from_cells(cells: &mut std::slice::Iter<'_, Cell<'_>>) -> Option<Self>;
}

macro_rules! scalar_columns {
    ($($ty:ty => $sql:ident, |$v:ident| $cell:expr, |$c:ident| $back:expr;)*) => {$(
        impl Columns for $ty {
            fn columns(name: &str, out: &mut Vec<Column>) {
                out.push(Column { name: name.to_string(), ty: SqlType::$sql, nullable: false });
            }
            fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
                let $v = self;
                out.push($cell);
            }
        }
        impl KeyColumns for $ty {
            fn from_cells(cells: &mut std::slice::Iter<'_, Cell<'_>>) -> Option<Self> {
                let $c = cells.next()?;
                $back
            }
        }
    )*};
}

scalar_columns! {
    String => Text, |v| Cell::Text(Cow::Borrowed(v)), |c| match c { Cell::Text(t) => Some(t.to_string()), _ => None };
    Arc<str> => Text, |v| Cell::Text(Cow::Borrowed(v)), |c| match c { Cell::Text(t) => Some(t.as_ref().into()), _ => None };
    compact_str::CompactString => Text, |v| Cell::Text(Cow::Borrowed(v)), |c| match c { Cell::Text(t) => Some(t.as_ref().into()), _ => None };
    i64 => BigInt, |v| Cell::Int(*v), |c| match c { Cell::Int(n) => Some(*n), _ => None };
    i32 => Integer, |v| Cell::Int(i64::from(*v)), |c| match c { Cell::Int(n) => i32::try_from(*n).ok(), _ => None };
    u32 => Integer, |v| Cell::Int(i64::from(*v)), |c| match c { Cell::Int(n) => u32::try_from(*n).ok(), _ => None };
    bool => Boolean, |v| Cell::Bool(*v), |c| match c { Cell::Bool(b) => Some(*b), _ => None };
}

impl Columns for f64 {
    fn columns(name: &str, out: &mut Vec<Column>) {
        out.push(Column { name: name.to_string(), ty: SqlType::Double, nullable: false });
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::Float(*self));
    }
}

impl Columns for OrderedFloat<f64> {
    fn columns(name: &str, out: &mut Vec<Column>) {
        f64::columns(name, out)
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::Float(self.0));
    }
}

/// `None` is NULL in every column of the value.
impl<T: Columns> Columns for Option<T> {
    fn columns(name: &str, out: &mut Vec<Column>) {
        let first = out.len();
        T::columns(name, out);
        for column in &mut out[first..] {
            column.nullable = true;
        }
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        match self {
            Some(value) => value.cells(out),
            None => out.extend(std::iter::repeat_n(Cell::Null, T::WIDTH)),
        }
    }
}

impl<A: Columns, B: Columns> Columns for (A, B) {
    const WIDTH: usize = A::WIDTH + B::WIDTH;
    fn columns(name: &str, out: &mut Vec<Column>) {
        A::columns(&format!("{name}_0"), out);
        B::columns(&format!("{name}_1"), out);
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        self.0.cells(out);
        self.1.cells(out);
    }
}

impl<A: KeyColumns, B: KeyColumns> KeyColumns for (A, B) {
    fn from_cells(cells: &mut std::slice::Iter<'_, Cell<'_>>) -> Option<Self> {
        Some((A::from_cells(cells)?, B::from_cells(cells)?))
    }
}

impl<A: Columns, B: Columns, C: Columns> Columns for (A, B, C) {
    const WIDTH: usize = A::WIDTH + B::WIDTH + C::WIDTH;
    fn columns(name: &str, out: &mut Vec<Column>) {
        A::columns(&format!("{name}_0"), out);
        B::columns(&format!("{name}_1"), out);
        C::columns(&format!("{name}_2"), out);
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        self.0.cells(out);
        self.1.cells(out);
        self.2.cells(out);
    }
}

impl<A: KeyColumns, B: KeyColumns, C: KeyColumns> KeyColumns for (A, B, C) {
    fn from_cells(cells: &mut std::slice::Iter<'_, Cell<'_>>) -> Option<Self> {
        Some((A::from_cells(cells)?, B::from_cells(cells)?, C::from_cells(cells)?))
    }
}

/// Implements [`Columns`] for enums of names: one `text` column holding `as_str()`.
#[macro_export]
macro_rules! text_columns {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::connectors::table::Columns for $ty {
            fn columns(name: &str, out: &mut Vec<$crate::connectors::table::Column>) {
                out.push($crate::connectors::table::Column { name: name.to_string(), ty: $crate::connectors::table::SqlType::Text, nullable: false });
            }
            fn cells<'a>(&'a self, out: &mut Vec<$crate::connectors::table::Cell<'a>>) {
                out.push($crate::connectors::table::Cell::Text(std::borrow::Cow::Borrowed(self.as_str())));
            }
        }
    )*};
}

/// A row type of one table; implemented by [`table!`](crate::table).
pub trait Record {
    /// The primary key's type: the key field's, or a tuple of the key fields'.
    type Key: KeyColumns + Clone;
    /// The table.
    fn table() -> &'static Table;
    /// The row's primary key.
    fn key(&self) -> Self::Key;
    /// Appends the row's cells, one per column of [`Record::table`], in order.
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>);
    /// The row as a JSON object of its columns.
    fn to_json(&self) -> Value {
        Self::table().json(|cells| self.cells(cells))
    }
    /// The key columns as a JSON object.
    fn key_json(&self) -> Value {
        let key = self.key();
        Self::table().json(|cells| key.cells(cells))
    }
}

/// A row of one of a set of tables; implemented by [`tables!`](crate::tables).
pub trait TableRow {
    /// Every table of the set, in output order.
    fn tables() -> &'static [&'static Table];
    /// The table this row belongs to.
    fn table(&self) -> &'static Table;
    /// Appends the row's cells, one per column of its table, in order.
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>);
    /// The row as a JSON object of its columns.
    fn to_json(&self) -> Value {
        self.table().json(|cells| self.cells(cells))
    }
}

/// The primary key of a row of one of a set of tables; implemented by [`tables!`](crate::tables).
pub trait TableKey: Sized {
    /// The table the key belongs to.
    fn table(&self) -> &'static Table;
    /// Appends the key's cells, one per key column, in order.
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>);
    /// The key columns as a JSON object.
    fn key_json(&self) -> Value {
        self.table().json(|cells| self.cells(cells))
    }
    /// The key of a row of the table named `table`, given its key columns' cells in order
    /// (as read back from a database); `None` if they are not one.
    fn from_cells(table: &str, cells: &[Cell<'_>]) -> Option<Self>;
}

/// Declares a table's row struct and derives its [`Record`] (see the [module docs](self)).
///
/// `struct Name in "table" [, topic "topic"] [, index "column"]… { key { fields } fields }`: the key fields
/// are the primary key and come first; a field's type gives its columns' SQL type
/// ([`Columns`]), `as Timestamptz` (any [`SqlType`]) overrides it. The topic is the
/// table's name unless given. A key computed from the row instead of held in it is
/// `key column: String = function;` (one text column, first).
#[macro_export]
macro_rules! table {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal $(, topic $topic:literal)? $(, index $index:literal)* {
            key { $( $(#[$kmeta:meta])* $kvis:vis $kfield:ident : $kty:ty $(as $ksql:ident)? ),+ $(,)? }
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $fty:ty $(as $fsql:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$kmeta])* $kvis $kfield: $kty, )+
            $( $(#[$fmeta])* $fvis $field: $fty, )*
        }

        #[allow(unused_parens)]
        impl $crate::connectors::table::Record for $name {
            type Key = ($($kty),+);
            fn table() -> &'static $crate::connectors::table::Table {
                static TABLE: std::sync::LazyLock<$crate::connectors::table::Table> = std::sync::LazyLock::new(|| {
                    let mut columns = Vec::new();
                    $( $crate::table!(@column columns, $kfield, $kty $(, $ksql)?); )+
                    let keys = columns.len();
                    $( $crate::table!(@column columns, $field, $fty $(, $fsql)?); )*
                    $crate::connectors::table::Table::new($table, $crate::table!(@topic $table $(, $topic)?), columns, keys).indexed(&[$($index),*])
                });
                &TABLE
            }
            fn key(&self) -> Self::Key {
                ($(self.$kfield.clone()),+)
            }
            fn cells<'a>(&'a self, out: &mut Vec<$crate::connectors::table::Cell<'a>>) {
                $( $crate::connectors::table::Columns::cells(&self.$kfield, out); )+
                $( $crate::connectors::table::Columns::cells(&self.$field, out); )*
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal $(, topic $topic:literal)? $(, index $index:literal)* {
            key $kcol:ident : String = $kfn:path;
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $fty:ty $(as $fsql:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $fty, )*
        }

        impl $crate::connectors::table::Record for $name {
            type Key = String;
            fn table() -> &'static $crate::connectors::table::Table {
                static TABLE: std::sync::LazyLock<$crate::connectors::table::Table> = std::sync::LazyLock::new(|| {
                    let mut columns = Vec::new();
                    $crate::table!(@column columns, $kcol, String);
                    $( $crate::table!(@column columns, $field, $fty $(, $fsql)?); )*
                    $crate::connectors::table::Table::new($table, $crate::table!(@topic $table $(, $topic)?), columns, 1).indexed(&[$($index),*])
                });
                &TABLE
            }
            fn key(&self) -> String {
                $kfn(self)
            }
            fn cells<'a>(&'a self, out: &mut Vec<$crate::connectors::table::Cell<'a>>) {
                out.push($crate::connectors::table::Cell::Text(std::borrow::Cow::Owned($kfn(self))));
                $( $crate::connectors::table::Columns::cells(&self.$field, out); )*
            }
        }
    };
    (@column $columns:ident, $field:ident, $ty:ty $(, $sql:ident)?) => {{
        let first = $columns.len();
        <$ty as $crate::connectors::table::Columns>::columns(stringify!($field), &mut $columns);
        assert_eq!($columns.len() - first, <$ty as $crate::connectors::table::Columns>::WIDTH, "the columns of field {}", stringify!($field));
        $(
            for column in &mut $columns[first..] {
                column.ty = $crate::connectors::table::SqlType::$sql;
            }
        )?
    }};
    (@topic $table:literal) => { $table };
    (@topic $table:literal, $topic:literal) => { $topic };
}

/// Declares the row and key enums of a set of tables, one variant per [`Record`] type, and
/// derives [`TableRow`], [`TableKey`], `Row::key`, `Row::keyed` and `From` each record.
#[macro_export]
macro_rules! tables {
    (
        $(#[$meta:meta])*
        $vis:vis enum $row:ident / $key:ident { $( $(#[$vmeta:meta])* $variant:ident($ty:ty) ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $row {
            $( $(#[$vmeta])* $variant($ty), )+
        }

        #[doc = concat!("The primary key of a [`", stringify!($row), "`], by table.")]
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $key {
            $( $(#[$vmeta])* $variant(<$ty as $crate::connectors::table::Record>::Key), )+
        }

        impl $row {
            /// The row's primary key.
            pub fn key(&self) -> $key {
                match self {
                    $( $row::$variant(r) => $key::$variant($crate::connectors::table::Record::key(r)), )+
                }
            }

            /// The row with its key, as a pipeline emits it.
            pub fn keyed(self) -> ($key, $row) {
                (self.key(), self)
            }
        }

        $(
            impl From<$ty> for $row {
                fn from(row: $ty) -> Self {
                    $row::$variant(row)
                }
            }
        )+

        impl $crate::connectors::table::TableRow for $row {
            fn tables() -> &'static [&'static $crate::connectors::table::Table] {
                static TABLES: std::sync::LazyLock<Vec<&'static $crate::connectors::table::Table>> =
                    std::sync::LazyLock::new(|| vec![$( <$ty as $crate::connectors::table::Record>::table(), )+]);
                &TABLES
            }
            fn table(&self) -> &'static $crate::connectors::table::Table {
                match self {
                    $( $row::$variant(_) => <$ty as $crate::connectors::table::Record>::table(), )+
                }
            }
            fn cells<'a>(&'a self, out: &mut Vec<$crate::connectors::table::Cell<'a>>) {
                match self {
                    $( $row::$variant(r) => $crate::connectors::table::Record::cells(r, out), )+
                }
            }
        }

        impl $crate::connectors::table::TableKey for $key {
            fn table(&self) -> &'static $crate::connectors::table::Table {
                match self {
                    $( $key::$variant(_) => <$ty as $crate::connectors::table::Record>::table(), )+
                }
            }
            fn cells<'a>(&'a self, out: &mut Vec<$crate::connectors::table::Cell<'a>>) {
                match self {
                    $( $key::$variant(k) => $crate::connectors::table::Columns::cells(k, out), )+
                }
            }
            fn from_cells(table: &str, cells: &[$crate::connectors::table::Cell<'_>]) -> Option<Self> {
                $(
                    if table == <$ty as $crate::connectors::table::Record>::table().name {
                        let mut cells = cells.iter();
                        let key = <<$ty as $crate::connectors::table::Record>::Key as $crate::connectors::table::KeyColumns>::from_cells(&mut cells)?;
                        return cells.next().is_none().then_some($key::$variant(key));
                    }
                )+
                None
            }
        }
    };
}
