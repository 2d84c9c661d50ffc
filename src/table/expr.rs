//! Row expressions: column references, literals, comparisons, and/or/not, `is_null`,
//! `isin`, `between` — what a filter is made of — and ufunc calls (`exp(x) * 2`), what a
//! computed column is made of (evaluated by `compute` as one fused ufunc program).
//!
//! An expression is a flat list of nodes in which every node refers only to earlier ones
//! and the last is the root. A chain of a million `and`s is then a vector, not a tree of
//! boxes: building, evaluating, printing, encoding and dropping it never recurse.

use crate::error::Result;
use crate::value::{Params, ParamsReader, ParamsWriter};
use std::fmt;
use std::sync::Arc;

/// A literal. Integers and floats take their column's type when they fit it exactly
/// (NumPy's rule for Python scalars); strings compare with string columns and, parsed as
/// ISO 8601, with date and timestamp columns; integers with dates count days, with
/// timestamps the column's unit.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}
impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}
impl From<i32> for Scalar {
    fn from(v: i32) -> Self {
        Scalar::Int(v.into())
    }
}
impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}
impl From<&str> for Scalar {
    fn from(v: &str) -> Self {
        Scalar::Str(v.to_string())
    }
}
impl From<String> for Scalar {
    fn from(v: String) -> Self {
        Scalar::Str(v)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => write!(f, "null"),
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::Float(v) => write!(f, "{v:?}"),
            Scalar::Str(v) => write!(f, "{v:?}"),
        }
    }
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator named by `s` (`==`/`=`, `!=`, `<`, `<=`, `>`, `>=`).
    pub fn parse(s: &str) -> Option<CmpOp> {
        Some(match s {
            "==" | "=" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }

    const ALL: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];
}

/// One node; operands are indices of earlier nodes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Column(String),
    Literal(Scalar),
    Cmp(CmpOp, usize, usize),
    And(usize, usize),
    Or(usize, usize),
    Not(usize),
    IsNull(usize),
    IsIn(usize, Vec<Scalar>),
    /// A ufunc (by its name in the ufunc tables) applied to operands.
    Call(String, Vec<usize>),
}

/// A row expression (see the module notes). Rows where a filter's expression is null
/// (a comparison with a null) are dropped, as in SQL and pandas; `and`/`or` follow
/// three-valued logic (`false and null` is false).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    nodes: Vec<Node>,
}

/// The column `name`.
pub fn col(name: impl Into<String>) -> Expr {
    Expr {
        nodes: vec![Node::Column(name.into())],
    }
}

/// A literal.
pub fn lit(v: impl Into<Scalar>) -> Expr {
    Expr {
        nodes: vec![Node::Literal(v.into())],
    }
}

impl Expr {
    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub(crate) fn root(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Appends `other`'s nodes after this one's; returns the two roots.
    fn join(mut self, other: Expr) -> (Expr, usize, usize) {
        let a = self.root();
        let offset = self.nodes.len();
        self.nodes
            .extend(other.nodes.into_iter().map(|n| shift(n, offset)));
        let b = self.root();
        (self, a, b)
    }

    fn push(mut self, n: Node) -> Expr {
        self.nodes.push(n);
        self
    }

    pub fn cmp(self, op: CmpOp, other: Expr) -> Expr {
        let (e, a, b) = self.join(other);
        e.push(Node::Cmp(op, a, b))
    }
    pub fn eq(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Eq, other)
    }
    pub fn ne(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Ne, other)
    }
    pub fn lt(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Lt, other)
    }
    pub fn le(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Le, other)
    }
    pub fn gt(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Gt, other)
    }
    pub fn ge(self, other: Expr) -> Expr {
        self.cmp(CmpOp::Ge, other)
    }
    pub fn and(self, other: Expr) -> Expr {
        let (e, a, b) = self.join(other);
        e.push(Node::And(a, b))
    }
    pub fn or(self, other: Expr) -> Expr {
        let (e, a, b) = self.join(other);
        e.push(Node::Or(a, b))
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        let a = self.root();
        self.push(Node::Not(a))
    }
    pub fn is_null(self) -> Expr {
        let a = self.root();
        self.push(Node::IsNull(a))
    }
    pub fn is_not_null(self) -> Expr {
        self.is_null().not()
    }
    /// True where the value is one of `values` (null values in the list match nothing).
    pub fn isin(self, values: impl IntoIterator<Item = impl Into<Scalar>>) -> Expr {
        let a = self.root();
        let values = values.into_iter().map(Into::into).collect();
        self.push(Node::IsIn(a, values))
    }
    /// `lo <= self <= hi`, both ends included (pandas' `between`).
    pub fn between(self, lo: impl Into<Scalar>, hi: impl Into<Scalar>) -> Expr {
        let x = self.root();
        let mut e = self.push(Node::Literal(lo.into()));
        let lo = e.root();
        e = e.push(Node::Literal(hi.into()));
        let hi = e.root();
        e = e.push(Node::Cmp(CmpOp::Ge, x, lo));
        let ge = e.root();
        e = e.push(Node::Cmp(CmpOp::Le, x, hi));
        let le = e.root();
        e.push(Node::And(ge, le))
    }

    /// The ufunc `name` (any in the ufunc tables: `exp`, `log`, `sqrt`, `add`, `power`, …)
    /// applied to `args`, elementwise over the rows; NumPy's types (a number literal takes
    /// its column's type where it fits, NEP 50), null where any column read is null.
    pub fn call(name: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
        let mut args = args.into_iter();
        let Some(first) = args.next() else {
            return Expr {
                nodes: vec![Node::Call(name.to_string(), vec![])],
            };
        };
        let mut roots = vec![first.root()];
        let mut e = first;
        for a in args {
            let (joined, _, b) = e.join(a);
            e = joined;
            roots.push(b);
        }
        e.push(Node::Call(name.to_string(), roots))
    }

    /// The one-operand ufunc `name` applied to this expression (`col("x").apply("exp")`).
    pub fn apply(self, name: &str) -> Expr {
        Expr::call(name, [self])
    }

    /// The literal this expression is, if it is only that.
    pub fn as_literal(&self) -> Option<&Scalar> {
        match self.nodes.as_slice() {
            [Node::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// The columns the expression reads, each once, in order of first use.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in &self.nodes {
            if let Node::Column(c) = n {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// Dask's `filters=` form: a disjunction of conjunctions of `(column, op, value)`
    /// (`op` one of `==`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`; the value of
    /// `in` a list). An empty conjunction is refused: it would keep every row silently.
    pub fn from_dnf(dnf: &[Vec<(String, String, Vec<Scalar>)>]) -> Result<Expr> {
        let invalid = |m: String| crate::error::Error::invalid(m);
        let mut any: Option<Expr> = None;
        for conj in dnf {
            if conj.is_empty() {
                return Err(invalid("filters: an empty conjunction".into()));
            }
            let mut all: Option<Expr> = None;
            for (c, op, v) in conj {
                let term = match (op.as_str(), v.as_slice()) {
                    ("in", vs) => col(c.as_str()).isin(vs.iter().cloned()),
                    ("not in", vs) => col(c.as_str()).isin(vs.iter().cloned()).not(),
                    (o, [v]) => match CmpOp::parse(o) {
                        Some(op) => col(c.as_str()).cmp(op, lit(v.clone())),
                        None => return Err(invalid(format!("filters: unknown operator '{o}'"))),
                    },
                    (o, vs) => {
                        return Err(invalid(format!(
                            "filters: '{c} {o}' takes one value, not {}",
                            vs.len()
                        )))
                    }
                };
                all = Some(match all {
                    None => term,
                    Some(a) => a.and(term),
                });
            }
            let all = all.expect("a non-empty conjunction");
            any = Some(match any {
                None => all,
                Some(a) => a.or(all),
            });
        }
        any.ok_or_else(|| invalid("filters: no conjunctions".into()))
    }
}

macro_rules! arithmetic {
    ($($trait:ident, $method:ident, $ufunc:literal);*) => {$(
        /// NumPy's operator, as its ufunc.
        impl std::ops::$trait for Expr {
            type Output = Expr;
            fn $method(self, other: Expr) -> Expr {
                Expr::call($ufunc, [self, other])
            }
        }
    )*};
}
arithmetic!(Add, add, "add"; Sub, sub, "subtract"; Mul, mul, "multiply"; Div, div, "divide");

impl std::ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        self.apply("negative")
    }
}

fn shift(n: Node, by: usize) -> Node {
    match n {
        Node::Cmp(op, a, b) => Node::Cmp(op, a + by, b + by),
        Node::And(a, b) => Node::And(a + by, b + by),
        Node::Or(a, b) => Node::Or(a + by, b + by),
        Node::Not(a) => Node::Not(a + by),
        Node::IsNull(a) => Node::IsNull(a + by),
        Node::IsIn(a, v) => Node::IsIn(a + by, v),
        Node::Call(f, args) => Node::Call(f, args.into_iter().map(|a| a + by).collect()),
        leaf => leaf,
    }
}

impl fmt::Display for Expr {
    /// Infix, fully parenthesised; written through an explicit stack (no recursion, and
    /// linear in the expression's size).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        enum Step<'a> {
            Node(usize),
            Text(&'a str),
            Owned(String),
        }
        let mut stack = vec![Step::Node(self.root())];
        while let Some(step) = stack.pop() {
            let i = match step {
                Step::Text(t) => {
                    f.write_str(t)?;
                    continue;
                }
                Step::Owned(t) => {
                    f.write_str(&t)?;
                    continue;
                }
                Step::Node(i) => i,
            };
            // Pushed in reverse: the last pushed is written first.
            let (a, b, middle) = match &self.nodes[i] {
                Node::Column(c) => {
                    f.write_str(c)?;
                    continue;
                }
                Node::Literal(v) => {
                    write!(f, "{v}")?;
                    continue;
                }
                Node::Not(a) => {
                    stack.extend([Step::Node(*a), Step::Text("not ")]);
                    continue;
                }
                Node::IsNull(a) => {
                    stack.extend([Step::Text(" is null"), Step::Node(*a)]);
                    continue;
                }
                Node::IsIn(a, v) => {
                    let list = v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
                    stack.extend([
                        Step::Owned(format!(" in [{}]", list.join(", "))),
                        Step::Node(*a),
                    ]);
                    continue;
                }
                Node::Call(name, args) => {
                    stack.push(Step::Text(")"));
                    for (k, a) in args.iter().enumerate().rev() {
                        stack.push(Step::Node(*a));
                        if k > 0 {
                            stack.push(Step::Text(", "));
                        }
                    }
                    stack.push(Step::Owned(format!("{name}(")));
                    continue;
                }
                Node::Cmp(op, a, b) => (a, b, op.symbol()),
                Node::And(a, b) => (a, b, "and"),
                Node::Or(a, b) => (a, b, "or"),
            };
            stack.extend([
                Step::Text(")"),
                Step::Node(*b),
                Step::Text(" "),
                Step::Text(middle),
                Step::Text(" "),
                Step::Node(*a),
                Step::Text("("),
            ]);
        }
        Ok(())
    }
}

// ---- encoding (filters travel inside read and filter tasks) ----

pub(crate) fn write_scalar(w: &mut ParamsWriter, s: &Scalar) {
    match s {
        Scalar::Null => w.u8(0),
        Scalar::Bool(v) => {
            w.u8(1);
            w.bool(*v)
        }
        Scalar::Int(v) => {
            w.u8(2);
            w.i64(*v)
        }
        Scalar::Float(v) => {
            w.u8(3);
            w.f64(*v)
        }
        Scalar::Str(v) => {
            w.u8(4);
            w.str(v)
        }
    }
}

pub(crate) fn read_scalar(r: &mut ParamsReader) -> Result<Scalar> {
    Ok(match r.u8()? {
        0 => Scalar::Null,
        1 => Scalar::Bool(r.bool()?),
        2 => Scalar::Int(r.i64()?),
        3 => Scalar::Float(r.f64()?),
        4 => Scalar::Str(r.str()?.to_string()),
        k => return Err(r.corrupt(format!("unknown literal kind {k}"))),
    })
}

impl Expr {
    pub(crate) fn encode(&self, w: &mut ParamsWriter) {
        w.usize(self.nodes.len());
        for n in &self.nodes {
            match n {
                Node::Column(c) => {
                    w.u8(0);
                    w.str(c)
                }
                Node::Literal(v) => {
                    w.u8(1);
                    write_scalar(w, v)
                }
                Node::Cmp(op, a, b) => {
                    w.u8(2);
                    w.u8(CmpOp::ALL.iter().position(|o| o == op).expect("listed") as u8);
                    w.usize(*a);
                    w.usize(*b)
                }
                Node::And(a, b) => {
                    w.u8(3);
                    w.usize(*a);
                    w.usize(*b)
                }
                Node::Or(a, b) => {
                    w.u8(4);
                    w.usize(*a);
                    w.usize(*b)
                }
                Node::Not(a) => {
                    w.u8(5);
                    w.usize(*a)
                }
                Node::IsNull(a) => {
                    w.u8(6);
                    w.usize(*a)
                }
                Node::IsIn(a, v) => {
                    w.u8(7);
                    w.usize(*a);
                    w.usize(v.len());
                    v.iter().for_each(|s| write_scalar(w, s))
                }
                Node::Call(name, args) => {
                    w.u8(8);
                    w.str(name);
                    w.usizes(args)
                }
            }
        }
    }

    /// Reads an expression back; operands must point at earlier nodes.
    pub(crate) fn decode(r: &mut ParamsReader) -> Result<Expr> {
        let n = r.count()?;
        if n == 0 {
            return Err(r.corrupt("an expression without nodes"));
        }
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let operand = |r: &mut ParamsReader| -> Result<usize> {
                let a = r.usize()?;
                if a >= i {
                    return Err(r.corrupt(format!("node {i} refers to node {a}")));
                }
                Ok(a)
            };
            let node = match r.u8()? {
                0 => Node::Column(r.str()?.to_string()),
                1 => Node::Literal(read_scalar(r)?),
                2 => {
                    let k = r.u8()? as usize;
                    let op = *CmpOp::ALL
                        .get(k)
                        .ok_or_else(|| r.corrupt(format!("unknown comparison {k}")))?;
                    Node::Cmp(op, operand(r)?, operand(r)?)
                }
                3 => Node::And(operand(r)?, operand(r)?),
                4 => Node::Or(operand(r)?, operand(r)?),
                5 => Node::Not(operand(r)?),
                6 => Node::IsNull(operand(r)?),
                7 => {
                    let a = operand(r)?;
                    let k = r.count()?;
                    let v = (0..k).map(|_| read_scalar(r)).collect::<Result<Vec<_>>>()?;
                    Node::IsIn(a, v)
                }
                8 => {
                    let name = r.str()?.to_string();
                    let args = r.usizes()?;
                    if let Some(a) = args.iter().find(|&&a| a >= i) {
                        return Err(r.corrupt(format!("node {i} refers to node {a}")));
                    }
                    Node::Call(name, args)
                }
                k => return Err(r.corrupt(format!("unknown expression node {k}"))),
            };
            nodes.push(node);
        }
        Ok(Expr { nodes })
    }
}

/// A filter as task parameters (the `table.filter` step).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FilterParams(pub Expr);

impl Params for FilterParams {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.filter"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        self.0.encode(w)
    }
}

pub(crate) fn decode_filter(r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
    Ok(Arc::new(FilterParams(Expr::decode(r)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(e: &Expr) -> Result<Expr> {
        let mut w = ParamsWriter::default();
        e.encode(&mut w);
        let (bytes, buffers) = w.finish();
        Expr::decode(&mut ParamsReader::new(&bytes, buffers, "a test"))
    }

    #[test]
    fn expressions_round_trip_and_damaged_ones_are_refused() {
        let e = col("a")
            .gt(lit(1))
            .and(col("b").isin([1.5, f64::NAN]).not())
            .or(col("c").is_null())
            .or(col("d").between("x", "y"))
            .or(lit(Scalar::Null).eq(lit(true)));
        let back = round_trip(&e).unwrap();
        assert_eq!(back.to_string(), e.to_string());
        let computed = Expr::call("arctan2", [col("y"), -col("x") * lit(2)]).gt(lit(0.5));
        let again = round_trip(&computed).unwrap();
        assert_eq!(again, computed);
        assert_eq!(
            again.to_string(),
            "(arctan2(y, multiply(negative(x), 2)) > 0.5)"
        );
        assert_eq!(back.columns(), ["a", "b", "c", "d"]);
        // Every truncation is an error, never a panic.
        let mut w = ParamsWriter::default();
        e.encode(&mut w);
        let (bytes, _) = w.finish();
        for cut in 0..bytes.len() {
            let r = Expr::decode(&mut ParamsReader::new(&bytes[..cut], vec![], "cut"));
            assert!(r.is_err() || cut == bytes.len(), "cut at {cut}");
        }
        // An operand pointing forward (a cycle, or a node not there) is refused.
        let forward = Expr {
            nodes: vec![Node::Column("a".into()), Node::Not(1)],
        };
        let err = round_trip(&forward).unwrap_err().to_string();
        assert!(err.contains("refers to node 1"), "{err}");
    }

    #[test]
    fn display_is_infix_and_parenthesised() {
        let e = col("x").ge(lit(2)).and(col("s").eq(lit("a")).not());
        assert_eq!(e.to_string(), "((x >= 2) and not (s == \"a\"))");
        assert_eq!(col("k").isin([1, 2]).to_string(), "k in [1, 2]");
    }
}
