# Lazy tables read from Parquet (class "dask_table"). The library plans, reads, filters and
# aggregates; this file translates R's idioms: a subset() condition or a read filter written
# as an R expression (columns by name, other names evaluated in the caller's frame),
# aggregate() with R's NA rule (a group holding NA gives NA unless na.rm = TRUE), and
# as.data.frame() with factors for dictionary columns, NA for nulls, Date and POSIXct.

dask_read_parquet <- function(path, columns = NULL, filter = NULL, split_row_groups = FALSE,
                              engine = c("auto", "arrow", "column")) {
  path <- path.expand(as.character(path))
  engine <- match.arg(engine)
  cond <- substitute(filter)
  if (is.null(cond))
    return(.Call(C_dk_read_parquet, path, .names_arg(columns), NULL, split_row_groups, engine))
  # The footers give the column names the expression may use (they are cached: the read
  # with the filter does not parse them again).
  all <- .Call(C_dk_read_parquet, path, NULL, NULL, FALSE, engine)
  e <- .dask_expr(cond, parent.frame(), .dk_info(all)$names)
  .Call(C_dk_read_parquet, path, .names_arg(columns), e, split_row_groups, engine)
}

# Arrow format strings of the colClasses read.csv knows (factor: read as character, then
# factor()).
.csv_formats <- c(integer = "i", numeric = "g", double = "g", character = "u",
                  logical = "b", Date = "tdD", POSIXct = "tsu:UTC")

dask_read_csv <- function(file, header = TRUE, sep = ",", quote = "\"", na.strings = "NA",
                          colClasses = NULL, col.names = NULL, columns = NULL, filter = NULL,
                          blocksize = 64 * 2^20, skip_bad_rows = FALSE) {
  file <- path.expand(as.character(file))
  if (identical(quote, "")) .dask_stop("quote = \"\" (no quoting) is not supported: CSV fields may be quoted")
  read <- function(cols, fmts, columns, e)
    .Call(C_dk_read_csv, file, header, sep, quote, as.character(na.strings), .names_arg(col.names),
          cols, fmts, .names_arg(columns), e, blocksize, skip_bad_rows)
  cond <- substitute(filter)
  cols <- NULL
  fmts <- NULL
  if (!is.null(colClasses) || !is.null(cond)) {
    # The column names: for unnamed colClasses and the filter's columns.
    all_names <- .dk_info(read(NULL, NULL, NULL, NULL))$names
    if (!is.null(colClasses)) {
      classes <- as.character(colClasses)
      cols <- names(colClasses)
      if (is.null(cols)) {
        if (length(classes) != length(all_names))
          .dask_stop(sprintf("colClasses: %d classes for %d columns", length(classes), length(all_names)))
        cols <- all_names
      }
      keep <- !is.na(classes)
      cols <- cols[keep]
      classes <- classes[keep]
      bad <- !(classes %in% names(.csv_formats))
      if (any(bad))
        .dask_stop(sprintf("colClasses: '%s' is not one of %s (read factors as character, then factor())",
                           classes[bad][1L], paste(names(.csv_formats), collapse = ", ")))
      fmts <- unname(.csv_formats[classes])
    }
  }
  e <- if (is.null(cond)) NULL else .dask_expr(cond, parent.frame(), all_names)
  read(cols, fmts, columns, e)
}

dask_write_csv <- function(x, dir, header = TRUE, sep = ",", client = NULL) {
  .Call(C_dk_table_write_csv, .client(client), x, path.expand(dir), header, sep)
}

.names_arg <- function(x) if (is.null(x)) NULL else as.character(x)
.dk_info <- function(x) {
  info <- .Call(C_dk_table_info, x)
  names(info) <- c("names", "types", "partitions", "rows", "text")
  info
}

# ---- expressions ------------------------------------------------------------------------

.dask_literal <- function(v) {
  if (inherits(v, "POSIXct")) v <- format(v, "%Y-%m-%dT%H:%M:%OS6", tz = "UTC")
  else if (inherits(v, "Date")) v <- format(v, "%Y-%m-%d")
  else if (is.factor(v)) v <- as.character(v)
  if (length(v) != 1L || !(is.logical(v) || is.numeric(v) || is.character(v)))
    .dask_stop(sprintf("a table expression compares with one logical, number, string or date, not %s",
                       paste(deparse(v), collapse = " ")))
  .Call(C_dk_expr_literal, v)
}

# The library expression of the R expression `e`: names in `cols` are columns, other
# names and calls without columns are evaluated in `env` as literals.
.dask_expr <- function(e, env, cols) {
  uses_columns <- function(x) any(all.names(x) %in% cols)
  if (is.symbol(e)) {
    nm <- as.character(e)
    if (nm %in% cols) return(.Call(C_dk_expr_column, nm))
    return(.dask_literal(eval(e, env)))
  }
  if (!is.call(e) || !uses_columns(e)) return(.dask_literal(eval(e, env)))
  op <- as.character(e[[1L]])
  if (op == "(") return(.dask_expr(e[[2L]], env, cols))
  if (op %in% c("==", "!=", "<", "<=", ">", ">=", "&", "|") && length(e) == 3L)
    return(.Call(C_dk_expr_binary, op, .dask_expr(e[[2L]], env, cols), .dask_expr(e[[3L]], env, cols)))
  if (op == "!" && length(e) == 2L) return(.Call(C_dk_expr_unary, "!", .dask_expr(e[[2L]], env, cols)))
  if (op == "is.na" && length(e) == 2L) return(.Call(C_dk_expr_unary, "is.na", .dask_expr(e[[2L]], env, cols)))
  if (op == "%in%" && !uses_columns(e[[3L]])) {
    values <- eval(e[[3L]], env)
    if (inherits(values, "Date") || inherits(values, "POSIXct")) values <- as.list(values)
    lits <- lapply(as.list(values), .dask_literal)
    return(.Call(C_dk_expr_isin, .dask_expr(e[[2L]], env, cols), lits))
  }
  .dask_stop(sprintf("cannot compute `%s` on a table's columns in the library (comparisons, &, |, !, is.na and %%in%% are)",
                     paste(deparse(e), collapse = " ")))
}

# ---- the lazy table ---------------------------------------------------------------------

format.dask_table <- function(x, ...) {
  if (dc_is_closed(x)) return("<dask_table> (closed)")
  sub("^lazy table: ", "<dask_table> ", .dk_info(x)$text)
}
print.dask_table <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}
names.dask_table <- function(x) .dk_info(x)$names
# Rows from the files' metadata (NA when a filter leaves them unknown until computed).
dim.dask_table <- function(x) {
  info <- .dk_info(x)
  c(info$rows, length(info$names))
}
close.dask_table <- function(con, ...) invisible(dc_close(con))

# The rows where `subset` is TRUE (rows where it is NA are dropped, as base R's subset()
# does), columns `select` (names, or unquoted names and ranges as in subset()): lazy.
subset.dask_table <- function(x, subset, select, ...) {
  cols <- names(x)
  if (!missing(subset)) x <- .Call(C_dk_table_filter, x, .dask_expr(substitute(subset), parent.frame(), cols))
  if (!missing(select)) {
    pos <- as.list(stats::setNames(seq_along(cols), cols))
    idx <- eval(substitute(select), pos, parent.frame())
    keep <- if (is.character(idx)) idx else cols[idx]
    x <- .Call(C_dk_table_select, x, keep)
  }
  x
}

as.data.frame.dask_table <- function(x, row.names = NULL, optional = FALSE, ..., client = NULL) {
  .as_df(.Call(C_dk_table_collect, .client(client), x))
}

# The rows ordered by column `by` as `x[order(x[[by]], decreasing = decreasing, na.last =
# na.last), ]` orders a data.frame: NA and NaN together at the end (the start with na.last =
# FALSE), -0 and 0 equal, ties in their original order. The boundaries between partitions
# are computed now (this waits); the rows are sorted when the result is computed.
sort.dask_table <- function(x, decreasing = FALSE, by, na.last = TRUE, ..., client = NULL) {
  if (missing(by)) .dask_stop("sort: name the column to sort by (by = \"x\")")
  .Call(C_dk_table_sort, .client(client), x, by, decreasing, na.last)
}

head.dask_table <- function(x, n = 6L, ..., client = NULL) {
  client <- .client(client)
  h <- .Call(C_dk_table_head, client, x, n)
  on.exit(dc_close(h))
  .as_df(.Call(C_dk_table_collect, client, h))
}

# Columns from the library into a data.frame: factors (levels sorted, as factor() makes
# them) for dictionary columns.
.as_df <- function(cols) {
  n <- if (length(cols)) length(if (inherits(cols[[1L]], "dk_dictionary")) cols[[1L]][[1L]] else cols[[1L]]) else 0L
  cols <- lapply(cols, function(c) {
    if (!inherits(c, "dk_dictionary")) return(c)
    values <- c[[2L]][c[[1L]]]
    factor(values, levels = sort(unique(values[!is.na(values)])))
  })
  structure(cols, class = "data.frame", row.names = .set_row_names(n))
}

# ---- aggregate ----------------------------------------------------------------------------

.agg_functions <- list(sum = "sum", mean = "mean", min = "min", max = "max", var = "var", sd = "std")

# aggregate(x, by, FUN, na.rm = FALSE): every column of x but the `by` keys (names), summarised
# per group by FUN (sum, mean, min, max, var, sd or length); rows with an NA key are left out
# and groups are ordered as base R's aggregate() orders them (the first key varying fastest).
# As in R, a group holding NA gives NA unless na.rm = TRUE. Computed now: a data.frame.
aggregate.dask_table <- function(x, by, FUN, ..., na.rm = FALSE, client = NULL) {
  by <- as.character(by)
  cols <- setdiff(names(x), by)
  if (!length(cols)) .dask_stop("aggregate: no columns left to aggregate")
  known <- list(sum = sum, mean = mean, min = min, max = max, var = stats::var, sd = stats::sd,
                length = length)
  fun <- NULL
  for (nm in names(known)) if (identical(FUN, known[[nm]])) fun <- nm
  # An S4 generic made from one of them (the Matrix package makes `mean` one when attached)
  if (is.null(fun) && methods::is(FUN, "genericFunction") &&
      identical(attr(FUN@generic, "package"), if (FUN@generic %in% c("var", "sd")) "stats" else "base") &&
      FUN@generic %in% names(known))
    fun <- as.character(FUN@generic)
  if (is.null(fun)) .dask_stop("aggregate: FUN must be sum, mean, min, max, var, sd or length")
  info <- .dk_info(x)
  if (fun == "length") {
    funcs <- rep(c("count", "null_count"), each = length(cols))
    outs <- c(cols, paste0(cols, "\u0001nulls"))
    keep <- rep(FALSE, length(funcs))
    in_cols <- c(cols, cols)
  } else {
    funcs <- rep(.agg_functions[[fun]], length(cols))
    outs <- cols
    keep <- rep(!isTRUE(na.rm), length(cols))
    in_cols <- cols
  }
  t <- .Call(C_dk_table_aggregate, x, by, TRUE, funcs, in_cols, outs, keep)
  on.exit(dc_close(t))
  df <- as.data.frame(t, client = client)
  if (fun == "length") {
    for (c in cols) df[[c]] <- as.integer(df[[c]] + df[[paste0(c, "\u0001nulls")]])
    df <- df[c(by, cols)]
  }
  # R's sum of integers (and logicals) is an integer, NA with a warning past its range.
  if (fun == "sum") {
    types <- stats::setNames(info$types, info$names)
    for (c in cols) if (types[[c]] %in% c("b", "c", "C", "s", "S", "i")) {
      big <- !is.na(df[[c]]) & abs(df[[c]]) > .Machine$integer.max
      if (any(big)) warning("integer overflow - use sum(as.numeric(.))", call. = FALSE)
      df[[c]][big] <- NA
      df[[c]] <- as.integer(df[[c]])
    }
  }
  if (length(by) && nrow(df)) {
    df <- df[do.call(order, unname(rev(as.list(df[by])))), , drop = FALSE]
    rownames(df) <- NULL
  }
  df
}

# ---- writing -------------------------------------------------------------------------------

# Writes x into the new directory `dir`, a file per partition (hive directories for the
# `partition_on` columns); the rows written.
dask_write_parquet <- function(x, dir, partition_on = NULL, compression = "snappy",
                               row_group_size = 0, client = NULL) {
  .Call(C_dk_table_write_parquet, .client(client), x, path.expand(dir),
        .names_arg(partition_on), compression, row_group_size)
}
