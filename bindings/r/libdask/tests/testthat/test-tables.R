# Tables: the fixture tests/data/tables/people (written by pyarrow; every value a formula of
# the row's id, see make_people.py) read through the library, each result compared with
# base R on a data.frame built from those formulas: values, classes and NA.
people <- file.path(Sys.getenv("LIBDASK_HOME"), "tests", "data", "tables", "people")

expected_people <- function() {
  id <- 0:999
  words <- c("ann", "bob", "cy", "dee")
  x <- id * 0.5 - 100
  x[id %% 7 == 3] <- NA
  name <- words[id %% 4 + 1]
  name[id %% 11 == 5] <- NA
  data.frame(
    id = as.numeric(id),
    x = x,
    name = factor(name),
    day = as.Date("2024-01-01") + id %% 60,
    ts = as.POSIXct("2024-01-01", tz = "UTC") + 1.5 * id,
    flag = id %% 3 == 0,
    small = as.integer(id %% 50 - 25),
    stringsAsFactors = FALSE)
}

test_that("a lazy table prints, names and dims without computing", {
  skip_if_not(dir.exists(people), paste("no fixture at", people, "(set LIBDASK_HOME)"))
  t <- dask_read_parquet(people)
  expect_s3_class(t, "dask_table")
  expect_equal(names(t), c("id", "x", "name", "day", "ts", "flag", "small"))
  expect_equal(dim(t), c(1000, 7))
  out <- capture.output(print(t))
  expect_match(out[1], "2 partitions, 1000 rows")
})

test_that("as.data.frame and head match base R's data.frame, NA, factor, Date, POSIXct", {
  skip_if_not(dir.exists(people))
  want <- expected_people()
  got <- as.data.frame(dask_read_parquet(people))
  expect_identical(lapply(got, class), lapply(want, class))
  expect_equal(got, want)
  expect_identical(levels(got$name), levels(want$name))
  # head() computes only its rows: a factor's levels are those its rows hold
  expect_equal(head(dask_read_parquet(people), 3), droplevels(head(want, 3)))
})

test_that("every engine reads the same data.frame; engine = is matched as R matches", {
  skip_if_not(dir.exists(people))
  want <- expected_people()
  for (e in c("arrow", "column", "auto")) {
    got <- as.data.frame(dask_read_parquet(people, engine = e, split_row_groups = TRUE))
    expect_identical(lapply(got, class), lapply(want, class))
    expect_equal(got, want)
  }
  # match.arg: a unique prefix names the engine, anything else is R's own error
  expect_equal(as.data.frame(dask_read_parquet(people, engine = "col")), want)
  expect_error(dask_read_parquet(people, engine = "fastparquet"), "should be one of")
})

test_that("subset and read filters follow base R's subset (NA conditions drop the row)", {
  skip_if_not(dir.exists(people))
  want <- expected_people()
  t <- dask_read_parquet(people)
  lim <- 100
  base <- subset(want, x > lim & name %in% c("ann", "cy"))
  rownames(base) <- NULL
  got <- as.data.frame(subset(t, x > lim & name %in% c("ann", "cy")))
  expect_equal(got$id, base$id)
  expect_equal(got$x, base$x)
  expect_equal(as.character(got$name), as.character(base$name))
  pushed <- dask_read_parquet(people, filter = x > lim & name %in% c("ann", "cy"))
  expect_true(is.na(dim(pushed)[1]))
  expect_equal(as.data.frame(pushed)$id, base$id)
  expect_equal(as.data.frame(subset(t, is.na(name)))$id, want$id[is.na(want$name)])
  expect_equal(as.data.frame(subset(t, !flag & day == as.Date("2024-01-05")))$id,
               want$id[!want$flag & want$day == as.Date("2024-01-05")])
  expect_equal(as.data.frame(subset(t, ts < as.POSIXct("2024-01-01 00:00:03", tz = "UTC")))$id, c(0, 1))
  s <- subset(t, id >= 990, select = c(small, id))
  expect_equal(names(s), c("small", "id"))
  expect_equal(as.data.frame(s), subset(want, id >= 990, select = c(small, id)), ignore_attr = TRUE)
  expect_error(subset(t, nchar(name) > 2), class = "dask_error")
  expect_error(subset(t, nope > 1))
})

test_that("aggregate matches base R's aggregate, NA rule and na.rm included", {
  skip_if_not(dir.exists(people))
  want <- expected_people()
  t <- subset(dask_read_parquet(people), select = c(name, x, small))
  for (FUN in list(sum, mean, min, max, var, sd)) {
    for (na.rm in c(FALSE, TRUE)) {
      got <- aggregate(t, by = "name", FUN = FUN, na.rm = na.rm)
      base <- aggregate(want[c("x", "small")], by = list(name = want$name), FUN = FUN, na.rm = na.rm)
      expect_equal(got, base, tolerance = 1e-12)
      expect_identical(lapply(got, class), lapply(base, class))
    }
  }
  # with the Matrix package attached, `mean` is an S4 generic: still R's mean
  mean4 <- methods::getGeneric("mean")
  expect_true(methods::is(mean4, "genericFunction"))
  expect_equal(aggregate(t, by = "name", FUN = mean4),
               aggregate(want[c("x", "small")], by = list(name = want$name), FUN = base::mean))
  n <- aggregate(t, by = "name", FUN = length)
  expect_equal(n, aggregate(want[c("x", "small")], by = list(name = want$name), FUN = length))
  two <- aggregate(subset(dask_read_parquet(people), select = c(flag, name, small)),
                   by = c("flag", "name"), FUN = sum)
  base2 <- aggregate(want["small"], by = list(flag = want$flag, name = want$name), FUN = sum)
  expect_equal(two, base2)
  expect_error(aggregate(t, by = "name", FUN = median), class = "dask_error")
})

test_that("dask_write_parquet writes what reads back", {
  skip_if_not(dir.exists(people))
  dir <- file.path(tempfile(), "out")
  t <- dask_read_parquet(people)
  expect_equal(dask_write_parquet(subset(t, id < 100), dir, partition_on = "name"), 100)
  back <- as.data.frame(dask_read_parquet(dir))
  back <- back[order(back$id), ]
  want <- expected_people()[1:100, ]
  expect_equal(back$x, want$x)
  expect_equal(as.character(back$name), as.character(want$name))
  expect_error(dask_write_parquet(t, dir), class = "dask_error")
  expect_error(dask_read_parquet("/no/such/dir"), class = "dask_error")
  close(t)
  expect_error(as.data.frame(t), class = "dask_error")
})

test_that("dask_read_csv matches read.csv: values, classes, NA, empty strings, quoting", {
  dir <- tempfile("csv")
  dir.create(dir)
  path <- file.path(dir, "notes.csv")
  n <- 600
  df <- data.frame(
    id = seq_len(n),
    x = ifelse(seq_len(n) %% 9 == 0, NA, seq_len(n) / 4),
    note = ifelse(seq_len(n) %% 5 == 0, paste0("two\nlines, \"quoted\" ", seq_len(n)),
                  ifelse(seq_len(n) %% 7 == 0, "", paste("plain", seq_len(n)))),
    day = as.Date("2024-01-01") + seq_len(n),
    ok = seq_len(n) %% 2 == 0,
    stringsAsFactors = FALSE)
  df$note[3] <- NA
  write.csv(df, path, row.names = FALSE)
  classes <- c(id = "integer", x = "numeric", note = "character", day = "Date", ok = "logical")
  want <- read.csv(path, colClasses = classes)
  t <- dask_read_csv(path, colClasses = classes, blocksize = 2000)
  expect_s3_class(t, "dask_table")
  expect_true(any(grepl("partitions", capture.output(print(t)))))
  expect_true(is.na(dim(t)[1]))  # rows of a CSV are unknown until read
  got <- as.data.frame(t)
  expect_identical(got, want)
  # Types inferred: the same values (64-bit integers as doubles).
  inferred <- as.data.frame(dask_read_csv(path))
  expect_equal(inferred$id, as.numeric(want$id))
  expect_identical(inferred[c("x", "note", "day", "ok")], want[c("x", "note", "day", "ok")])
  # Unnamed colClasses, columns, a filter, another separator.
  semi <- file.path(dir, "semi.txt")
  write.table(df[1:20, c("id", "x")], semi, sep = ";", row.names = FALSE, na = "NA")
  small <- as.data.frame(dask_read_csv(semi, sep = ";", colClasses = c("integer", "numeric"),
                                       filter = id > 15, columns = "x"))
  expect_identical(small, data.frame(x = df$x[16:20]))
  # A round trip through dask_write_csv.
  out <- file.path(dir, "out")
  expect_equal(dask_write_csv(t, out), n)
  back <- as.data.frame(dask_read_csv(out, colClasses = classes))
  expect_identical(back$id, want$id)
  expect_identical(back$x, want$x)
  expect_identical(back$day, want$day)
  # Bad rows: named, or skipped.
  bad <- file.path(dir, "bad.csv")
  writeLines(c("k,v", "1,2", "3,zz"), bad)
  expect_error(as.data.frame(dask_read_csv(bad, colClasses = c(v = "integer"))),
               "bad.csv, line 3, column 'v'")
  expect_identical(as.data.frame(dask_read_csv(bad, colClasses = c(v = "integer"),
                                               skip_bad_rows = TRUE))$k, 1)
  expect_error(dask_read_csv(bad, colClasses = c(v = "factor")), "factor")
  expect_error(dask_read_csv(bad, sep = ";;"), "one ASCII character")
})

test_that("sort orders rows as order() does: NA and NaN last (or first), -0 == 0, ties stable", {
  skip_if_not(dir.exists(people))
  want <- expected_people()
  t <- dask_read_parquet(people)
  for (by in c("x", "name", "small", "ts")) for (dec in c(FALSE, TRUE)) for (nl in c(TRUE, FALSE)) {
    got <- as.data.frame(sort(t, decreasing = dec, by = by, na.last = nl))
    o <- want[order(want[[by]], decreasing = dec, na.last = nl), ]
    rownames(o) <- NULL
    expect_identical(lapply(got, class), lapply(o, class))
    expect_equal(got, o, info = paste(by, dec, nl))
  }
  # NaN of both signs, infinities, zeros of both signs and NA over 3 files (3 partitions).
  dir <- tempfile("sortcsv")
  dir.create(dir)
  v <- c("NaN", "-NaN", "inf", "-inf", "0.0", "-0.0", "", "1.5", "-2", "1.5", "7")
  for (f in 1:3) {
    i <- 1:40
    writeLines(c("id,v", paste0(100 * f + i, ",", v[(7 * i + 3 * f) %% length(v) + 1])),
               file.path(dir, sprintf("part%d.csv", f)))
  }
  s <- dask_read_csv(dir, colClasses = c(v = "numeric"))
  whole <- as.data.frame(s)
  expect_true(any(is.nan(whole$v)) && any(is.na(whole$v) & !is.nan(whole$v)))
  for (dec in c(FALSE, TRUE)) for (nl in c(TRUE, FALSE)) {
    got <- as.data.frame(sort(s, dec, "v", na.last = nl))  # positional: decreasing, by
    o <- whole[order(whole$v, decreasing = dec, na.last = nl), ]
    rownames(o) <- NULL
    expect_identical(got$id, o$id, info = paste(dec, nl))
    expect_identical(got$v, o$v)
  }
  expect_error(sort(t, by = "nope"), "nope")
  expect_error(sort(t, by = "x", na.last = NA), "na.last")
  expect_error(sort(t), "name the column")
})
