//! Generalized linear models on chunked arrays (dask-glm, natively): families, penalties,
//! five solvers, and scikit-learn-style estimators. Every iteration is a task graph over
//! the row blocks of X on the client's runtime (local pool or cluster): one fused pass per
//! block, tree-reduced, so only p-sized vectors and p×p matrices move between iterations.

mod dense;
mod design;
pub mod family;
mod kernel;
mod local;
mod model;
mod objective;
mod ops;
pub mod penalty;
mod softmax;
mod solvers;
mod sparse_pass;
mod warm;

pub use family::{family, Family};
pub use kernel::Stats;
pub use model::{
    fit, fit_path, FitInfo, Glm, LinearRegression, LogisticRegression, Options, PoissonRegression,
    Solver,
};
pub use ops::register_ops;
pub use penalty::{Penalty, Regularization};
pub use solvers::newton::NEWTON_MAX_COLUMNS;
