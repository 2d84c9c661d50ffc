# Lazy tables (`read_parquet`): the library plans and computes; this file translates Julia's
# idioms — `filter` with an expression, `select`, `groupby` + `combine`, `collect` into a
# NamedTuple of column vectors (the column-table shape Tables.jl users know) — and reads the
# computed rows out of Arrow's C data interface.

@handle TableHandle CAPI.dask_table CAPI.dask_table_free
@handle ExprHandle CAPI.dask_expr CAPI.dask_expr_free

"""
    DaskTable

A lazy, partitioned table (from `read_parquet`). Printing shows its columns, partitions and
rows (from the files' metadata) without computing; `collect` computes it into a
`NamedTuple` of column vectors; `filter`, `select`, `groupby`/`combine` return new lazy
tables.
"""
struct DaskTable
    h::TableHandle
end
DaskTable(p::Ptr{CAPI.dask_table}) = DaskTable(TableHandle(p))
Base.unsafe_convert(::Type{Ptr{CAPI.dask_table}}, t::DaskTable) = live(t.h)
Base.close(t::DaskTable) = close(t.h)

new_table(f) = DaskTable(out_ptr(f, CAPI.dask_table))

names_arg(cols) = String[string(c) for c in cols]

"""
    read_parquet(paths...; columns = nothing, filter = nothing, split_row_groups = false,
                 engine = "auto")

A lazy table over Parquet files or directories (hive `key=value` directories become
columns). Reads the footers now and no data. `columns`: names to keep, in that order;
`filter`: an expression of `col`s (`col(:x) > 1 & col(:name) in ["a", "b"]`) pushed into
the read — row groups whose statistics rule it out are not read; `split_row_groups`: a
partition per row group instead of per file; `engine`: `"auto"`, `"arrow"` (the parquet
crate's Arrow reader for every column) or `"column"` (its typed readers for the numeric
columns, straight into the table's buffers) — the same table either way.
"""
function read_parquet(paths::AbstractString...; columns = nothing, filter = nothing,
                      split_row_groups::Bool = false, engine::AbstractString = "auto")
    o = Ref{CAPI.dask_parquet_options}()
    check(CAPI.dask_parquet_options_init(o, sizeof(CAPI.dask_parquet_options)))
    ps = String[p for p in paths]
    cols = columns === nothing ? nothing : names_arg(columns)
    colptrs = cols === nothing ? Ptr{UInt8}[] : [pointer(c) for c in cols]
    pathptrs = [pointer(p) for p in ps]
    eng = String(engine)
    GC.@preserve ps cols colptrs pathptrs filter eng begin
        opts = o[]
        o[] = CAPI.dask_parquet_options(opts.struct_size, split_row_groups,
            cols === nothing ? Ptr{Ptr{UInt8}}(C_NULL) : pointer(colptrs),
            cols === nothing ? 0 : length(cols),
            filter === nothing ? Ptr{CAPI.dask_expr}(C_NULL) : live(filter.h),
            pointer(eng))
        new_table(out -> CAPI.dask_read_parquet(pathptrs, length(ps), o, out))
    end
end

# Julia types a CSV column may be read as, and their Arrow format strings.
const CSV_TYPES = Dict{Type,String}(
    Bool => "b", Int8 => "c", Int16 => "s", Int32 => "i", Int64 => "l", UInt8 => "C",
    UInt16 => "S", UInt32 => "I", UInt64 => "L", Float32 => "f", Float64 => "g",
    String => "u", Date => "tdD", DateTime => "tsm:")

csv_format(name, T::Type) = get(CSV_TYPES, nonmissingtype(T)) do
    throw(ArgumentError("types: column $name cannot be read as $T (one of " *
                        join(sort!(string.(collect(keys(CSV_TYPES)))), ", ") * ")"))
end

csv_byte(c, what) = c isa Char && isascii(c) ? UInt32(c) :
    throw(ArgumentError("$what must be an ASCII Char, not $(repr(c))"))

"""
    read_csv(paths...; header = true, delim = ',', quotechar = '"', escapechar = nothing,
             missingstring = String[], types = Dict(), select = nothing, filter = nothing,
             blocksize = 64 * 2^20, skipbadrows = false)

A lazy table over CSV files, directories or glob patterns (CSV.jl's keyword names). Each
file is scanned once now for its record ends (a quoted field holding newlines is never
split across partitions); types come from `types` (`Dict(:x => Float64, "day" => Date)`)
or are inferred from the start of the first file. `header`: `true` (the first line names
the columns), `false` (`Column1`-style names from the library: `column_1`, …), or a vector of
names for files without a header line. `missingstring`: values read as `missing` besides the
empty field. A value that does not parse is an error naming the file, line and column, or
its row is left out with `skipbadrows = true`.
"""
function read_csv(paths::AbstractString...; header = true, delim::Char = ',',
                  quotechar::Char = '"', escapechar = nothing, missingstring = String[],
                  types = Dict(), select = nothing, filter = nothing,
                  blocksize::Integer = 64 * 2^20, skipbadrows::Bool = false)
    o = Ref{CAPI.dask_csv_options}()
    check(CAPI.dask_csv_options_init(o, sizeof(CAPI.dask_csv_options)))
    ps = String[p for p in paths]
    names = header isa AbstractVector ? names_arg(header) : nothing
    header isa Union{Bool,AbstractVector} ||
        throw(ArgumentError("header must be a Bool or a vector of names"))
    nas = missingstring isa AbstractString ? [String(missingstring)] : String[string(v) for v in missingstring]
    cols = select === nothing ? nothing : names_arg(select)
    tcols = String[string(k) for k in keys(types)]
    tfmts = String[csv_format(k, v) for (k, v) in types]
    esc = escapechar === nothing ? UInt32(0) : csv_byte(escapechar, "escapechar")
    ptrs(v) = v === nothing ? Ptr{UInt8}[] : [pointer(x) for x in v]
    pathptrs, nameptrs, naptrs, colptrs = ptrs(ps), ptrs(names), ptrs(nas), ptrs(cols)
    tcolptrs, tfmtptrs = ptrs(tcols), ptrs(tfmts)
    arg(v, p) = v === nothing || isempty(v) ? Ptr{Ptr{UInt8}}(C_NULL) : pointer(p)
    GC.@preserve ps names nas cols tcols tfmts pathptrs nameptrs naptrs colptrs tcolptrs tfmtptrs filter begin
        o[] = CAPI.dask_csv_options(o[].struct_size, header isa AbstractVector ? 0 : header,
            csv_byte(delim, "delim"), csv_byte(quotechar, "quotechar"), esc, skipbadrows,
            UInt64(blocksize), arg(names, nameptrs), names === nothing ? 0 : length(names),
            arg(tcols, tcolptrs), arg(tfmts, tfmtptrs), length(tcols),
            arg(nas, naptrs), length(nas), arg(cols, colptrs), cols === nothing ? 0 : length(cols),
            filter === nothing ? Ptr{CAPI.dask_expr}(C_NULL) : live(filter.h), 0)
        new_table(out -> CAPI.dask_read_csv(pathptrs, length(ps), o, out))
    end
end

"""
    write_csv(t, dir; header = true, delim = ',', client = default_client())

Computes `t` into the directory `dir`, a CSV file per partition (`part.00000.csv`, …);
returns the rows written. `missing` is written as an empty field.
"""
function write_csv(t::DaskTable, dir::AbstractString; header::Bool = true, delim::Char = ',',
                   client::Client = default_client())
    rows = Ref{UInt64}(0)
    check(CAPI.dask_table_write_csv(client, t, String(dir), header, csv_byte(delim, "delim"), rows))
    Int(rows[])
end

"""The column names, in order."""
function Base.names(t::DaskTable)
    n = Ref{Csize_t}(0)
    check(CAPI.dask_table_num_columns(t, n))
    map(0:Int(n[]) - 1) do i
        p = Ref{Ptr{UInt8}}(C_NULL)
        check(CAPI.dask_table_column_name(t, i, p))
        unsafe_string(p[])
    end
end

function Base.show(io::IO, t::DaskTable)
    isopen(t.h) || return print(io, "DaskTable(closed)")
    p = Ref{Ptr{UInt8}}(C_NULL)
    check(CAPI.dask_table_describe(t, p))
    s = unsafe_string(p[])
    CAPI.dask_string_free(p[])
    print(io, "DaskTable: ", replace(s, "lazy table: " => ""))
end

"""Columns `cols...` (Symbols or strings) in that order, lazily."""
function select(t::DaskTable, cols...)
    ns = names_arg(cols)
    ptrs = [pointer(c) for c in ns]
    GC.@preserve ns new_table(out -> CAPI.dask_table_select(t, ptrs, length(ns), out))
end

# ---- expressions ----------------------------------------------------------------------

"""
    DaskExpr

A row expression: `col(:x)`, literals, comparisons (`==`, `!=`, `<`, `<=`, `>`, `>=`),
`&`, `|`, `!`, `in` (a vector of literals), `ismissing`, `between`. A comparison with a
missing value is missing, and `filter` drops rows where the expression is missing (SQL's
rule; Julia's `filter` would throw on them).
"""
struct DaskExpr
    h::ExprHandle
end
new_expr(f) = DaskExpr(ExprHandle(out_ptr(f, CAPI.dask_expr)))
Base.unsafe_convert(::Type{Ptr{CAPI.dask_expr}}, e::DaskExpr) = live(e.h)

"""The column `name` in an expression."""
col(name::Union{Symbol,AbstractString}) = new_expr(o -> CAPI.dask_expr_column(string(name), o))

literal(e::DaskExpr) = e
literal(x::Bool) = new_expr(o -> CAPI.dask_expr_bool(x, o))
literal(x::Integer) = new_expr(o -> CAPI.dask_expr_int(Int64(x), o))
literal(x::AbstractFloat) = new_expr(o -> CAPI.dask_expr_float(Float64(x), o))
literal(x::AbstractString) = new_expr(o -> CAPI.dask_expr_string(String(x), o))
literal(x::Symbol) = literal(string(x))
literal(x::Date) = literal(string(x))
literal(x::DateTime) = literal(Dates.format(x, dateformat"yyyy-mm-ddTHH:MM:SS.sss"))
literal(::Missing) = new_expr(o -> CAPI.dask_expr_null(o))
literal(x) = throw(ArgumentError("$(typeof(x)) cannot be a literal in a table expression"))

for (op, code) in ((:(==), CAPI.DASK_CMP_EQ), (:(!=), CAPI.DASK_CMP_NE), (:(<), CAPI.DASK_CMP_LT),
                   (:(<=), CAPI.DASK_CMP_LE), (:(>), CAPI.DASK_CMP_GT), (:(>=), CAPI.DASK_CMP_GE))
    @eval begin
        Base.$op(a::DaskExpr, b::DaskExpr) = compare(a, $code, b)
        Base.$op(a::DaskExpr, b) = compare(a, $code, literal(b))
        Base.$op(a, b::DaskExpr) = compare(literal(a), $code, b)
    end
end
compare(a::DaskExpr, code, b::DaskExpr) = new_expr(o -> CAPI.dask_expr_compare(a, code, b, o))

Base.:&(a::DaskExpr, b::DaskExpr) = new_expr(o -> CAPI.dask_expr_and(a, b, o))
Base.:|(a::DaskExpr, b::DaskExpr) = new_expr(o -> CAPI.dask_expr_or(a, b, o))
Base.:!(a::DaskExpr) = new_expr(o -> CAPI.dask_expr_not(a, o))
Base.ismissing(a::DaskExpr) = new_expr(o -> CAPI.dask_expr_is_null(a, o))

function Base.in(a::DaskExpr, values::Union{AbstractVector,Tuple,AbstractSet})
    lits = DaskExpr[literal(v) for v in values]
    ptrs = Ptr{CAPI.dask_expr}[live(l.h) for l in lits]
    GC.@preserve lits new_expr(o -> CAPI.dask_expr_isin(a, ptrs, length(ptrs), o))
end

"""`lo <= a <= hi` as one expression."""
between(a::DaskExpr, lo, hi) = new_expr(o -> CAPI.dask_expr_between(a, literal(lo), literal(hi), o))

function Base.show(io::IO, e::DaskExpr)
    p = Ref{Ptr{UInt8}}(C_NULL)
    check(CAPI.dask_expr_to_string(e, p))
    print(io, "DaskExpr(", unsafe_string(p[]), ")")
    CAPI.dask_string_free(p[])
end

"""The rows of `t` where `e` is true (lazily)."""
Base.filter(e::DaskExpr, t::DaskTable) = new_table(out -> CAPI.dask_table_filter(t, e, out))

# ---- group-by ------------------------------------------------------------------------

"""A table grouped by key columns, for `combine`."""
struct GroupedDaskTable
    table::DaskTable
    keys::Vector{String}
    skipmissing::Bool
end

"""
    groupby(t, keys...; skipmissing = false)

Groups of rows by the values of `keys` (DataFrames' rule: rows with a missing key form
groups of their own unless `skipmissing = true`). Aggregate with `combine`.
"""
groupby(t::DaskTable, keys...; skipmissing::Bool = false) =
    GroupedDaskTable(t, names_arg(keys), skipmissing)

const AGG_NAMES = Dict{Any,String}(sum => "sum", mean => "mean", minimum => "min",
                                   maximum => "max", var => "var", std => "std")

"""One `dask_agg` of `column => f` or `column => f => name` (and the strings it points to)."""
function agg_spec(spec::Pair, skip::Bool)
    column = string(spec.first)
    f, name = spec.second isa Pair ? (spec.second.first, string(spec.second.second)) :
              (spec.second, nothing)
    func = get(AGG_NAMES, f) do
        throw(ArgumentError("combine: $f is not one of sum, mean, minimum, maximum, var, std"))
    end
    name === nothing && (name = string(column, "_", nameof(f)))
    strings = (func, column, name)
    # Julia's sum, mean, var… of a vector holding `missing` is `missing`, unless skipped.
    (strings, skip)
end

function combine_aggs(t::DaskTable, keys::Vector{String}, dropna::Bool, specs, skip::Bool)
    isempty(specs) && throw(ArgumentError("combine: no `column => function` given"))
    parts = [agg_spec(s, skip) for s in specs]
    strs = [s for (ss, _) in parts for s in ss]
    aggs = [CAPI.dask_agg(pointer(ss[1]), pointer(ss[2]), pointer(ss[3]),
                          ss[1] in ("var", "std") ? 1 : 0, !k) for (ss, k) in parts]
    kptrs = [pointer(k) for k in keys]
    GC.@preserve strs keys kptrs aggs begin
        if isempty(keys)
            new_table(out -> CAPI.dask_table_agg(t, aggs, length(aggs), out))
        else
            new_table(out -> CAPI.dask_table_group_by(t, kptrs, length(kptrs), dropna, aggs,
                                                      length(aggs), out))
        end
    end
end

"""
    combine(g::GroupedDaskTable, :x => sum, :x => mean => :avg, ...; skipmissing = false)
    combine(t::DaskTable, :x => sum, ...; skipmissing = false)

One row per group (sorted by the keys, missing last), the keys then each aggregation:
`sum`, `mean`, `minimum`, `maximum`, `var`, `std` (corrected, as Julia's). As in Julia, a
group holding a `missing` gives `missing` unless `skipmissing = true`. Default output
names as DataFrames': `x_sum`, `x_mean`, `x_minimum`, …. Lazy.
"""
combine(g::GroupedDaskTable, specs::Pair...; skipmissing::Bool = false) =
    combine_aggs(g.table, g.keys, g.skipmissing, specs, skipmissing)
combine(t::DaskTable, specs::Pair...; skipmissing::Bool = false) =
    combine_aggs(t, String[], true, specs, skipmissing)

# ---- computing -----------------------------------------------------------------------

"""
    collect(t::DaskTable; client = default_client())

Computes the table into a `NamedTuple` of column vectors: `missing` for nulls (the vector's
element type is then `Union{Missing, T}`), `String` for text and dictionary columns, `Date`
and `DateTime` (UTC, exact to the millisecond, else an error) for dates and timestamps.
Only the calling Julia task waits; Ctrl-C cancels the computation.
"""
function Base.collect(t::DaskTable; client::Client = default_client())
    f = Future(out_ptr(o -> CAPI.dask_table_submit(client, t, o), CAPI.dask_future))
    try
        wait_done(f)
        v = ValueHandle(julia_errors(() -> out_ptr(o -> CAPI.dask_future_result(f, -1.0, o),
                                                  dask_value)))
        schema = Ref{CAPI.ArrowSchema}()
        array = Ref{CAPI.ArrowArray}()
        try
            check(CAPI.dask_value_table_export(v, schema, array))
        finally
            close(v)
        end
        try
            columns_of(schema[], array[])
        finally
            ccall(array[].release, Cvoid, (Ptr{CAPI.ArrowArray},), array)
            ccall(schema[].release, Cvoid, (Ptr{CAPI.ArrowSchema},), schema)
        end
    finally
        close(f)
    end
end

"""
    sort(t, col; rev = false, client = default_client())

The rows of `t` ordered by column `col` as Julia's `sort` orders a vector (`isless`): `NaN`
after every number and `missing` after `NaN`, the whole order reversed by `rev = true`
(`missing` first then). Stable, as `sort` of a DataFrame: rows with equal keys keep their
order. The partitions' boundaries are computed now from a sample of every partition (this
waits); the rows are sorted when the result is computed, a partition per partition of `t`.
"""
function Base.sort(t::DaskTable, col::Union{Symbol,AbstractString}; rev::Bool = false,
                   client::Client = default_client())
    new_table(out -> CAPI.dask_table_sort_by(client, t, string(col), rev, rev,
                                             CAPI.DASK_NAN_LARGEST, out))
end

"""The first `n` rows as a `NamedTuple` (computes only the partitions it needs)."""
function Base.first(t::DaskTable, n::Integer; client::Client = default_client())
    head = new_table(out -> CAPI.dask_table_head(client, t, n, out))
    try
        collect(head; client = client)
    finally
        close(head)
    end
end

"""
    write_parquet(t, dir; partition_on = [], compression = "snappy", row_group_size = 0)

Writes `t` into the new directory `dir`, a file per partition (hive directories for the
`partition_on` columns). Returns the rows written.
"""
function write_parquet(t::DaskTable, dir::AbstractString; partition_on = String[],
                       compression::AbstractString = "snappy", row_group_size::Integer = 0,
                       client::Client = default_client())
    o = Ref{CAPI.dask_parquet_write_options}()
    check(CAPI.dask_parquet_write_options_init(o, sizeof(CAPI.dask_parquet_write_options)))
    keys = names_arg(partition_on)
    kptrs = [pointer(k) for k in keys]
    comp = String(compression)
    rows = Ref{UInt64}(0)
    GC.@preserve keys kptrs comp begin
        o[] = CAPI.dask_parquet_write_options(o[].struct_size,
            isempty(keys) ? Ptr{Ptr{UInt8}}(C_NULL) : pointer(kptrs), length(keys),
            pointer(comp), UInt64(row_group_size))
        check(CAPI.dask_table_write_parquet(client, t, String(dir), o, rows))
    end
    Int(rows[])
end

# ---- Arrow's C data interface, read -------------------------------------------------

child(p::Ptr{Ptr{T}}, i) where {T} = unsafe_load(unsafe_load(p, i))

"""The columns of a struct array (a record batch) as a NamedTuple."""
function columns_of(s::CAPI.ArrowSchema, a::CAPI.ArrowArray)
    names = Symbol[Symbol(unsafe_string(child(s.children, k).name)) for k in 1:s.n_children]
    cols = [column_of(child(s.children, k), child(a.children, k), names[k])
            for k in 1:s.n_children]
    NamedTuple{Tuple(names)}(Tuple(cols))
end

buffer(a::CAPI.ArrowArray, i) = unsafe_load(a.buffers, i + 1)

"""Per row, whether the value is there (`nothing`: no nulls)."""
function validity(a::CAPI.ArrowArray)
    bits = Ptr{UInt8}(buffer(a, 0))
    (a.null_count == 0 || bits == C_NULL) && return nothing
    [(unsafe_load(bits, (a.offset + i) >> 3 + 1) >> ((a.offset + i) & 7)) & 1 == 1
     for i in 0:a.length - 1]
end

const PRIMITIVES = Dict("c" => Int8, "C" => UInt8, "s" => Int16, "S" => UInt16, "i" => Int32,
                        "I" => UInt32, "l" => Int64, "L" => UInt64, "f" => Float32,
                        "g" => Float64)

values_of(::Type{T}, a::CAPI.ArrowArray) where {T} =
    copy(unsafe_wrap(Array, Ptr{T}(buffer(a, 1)) + a.offset * sizeof(T), a.length))

function strings_of(::Type{O}, a::CAPI.ArrowArray) where {O}
    offsets = unsafe_wrap(Array, Ptr{O}(buffer(a, 1)) + a.offset * sizeof(O), a.length + 1)
    data = Ptr{UInt8}(buffer(a, 2))
    [unsafe_string(data + offsets[i], offsets[i + 1] - offsets[i]) for i in 1:a.length]
end

const UNIX_EPOCH_DATE = Date(1970, 1, 1)
const UNIX_EPOCH = DateTime(1970, 1, 1)

function column_of(s::CAPI.ArrowSchema, a::CAPI.ArrowArray, name::Symbol)
    fmt = unsafe_string(s.format)
    valid = validity(a)
    vals = if s.dictionary != C_NULL
        words = column_of(unsafe_load(s.dictionary), unsafe_load(a.dictionary), name)
        codes = values_of(PRIMITIVES[fmt], a)
        String[valid === nothing || valid[i] ? words[codes[i] + 1] : "" for i in eachindex(codes)]
    elseif haskey(PRIMITIVES, fmt)
        values_of(PRIMITIVES[fmt], a)
    elseif fmt == "b"
        bits = Ptr{UInt8}(buffer(a, 1))
        Bool[(unsafe_load(bits, (a.offset + i) >> 3 + 1) >> ((a.offset + i) & 7)) & 1 == 1
             for i in 0:a.length - 1]
    elseif fmt == "u"
        strings_of(Int32, a)
    elseif fmt == "U"
        strings_of(Int64, a)
    elseif fmt == "tdD"
        Date[UNIX_EPOCH_DATE + Day(d) for d in values_of(Int32, a)]
    elseif startswith(fmt, "ts")
        per_ms = Dict('s' => 1 // 1000, 'm' => 1 // 1, 'u' => 1000 // 1, 'n' => 1_000_000 // 1)[fmt[3]]
        raw = values_of(Int64, a)
        map(enumerate(raw)) do (i, v)
            valid === nothing || valid[i] || return UNIX_EPOCH # a null's slot: replaced below
            if denominator(v // per_ms) != 1
                throw(InexactError(:DateTime, DateTime,
                      "column $name: timestamp $v (unit $(fmt[3])) is finer than a millisecond"))
            end
            UNIX_EPOCH + Millisecond(Int64(v // per_ms))
        end
    else
        throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED, "column $name: Arrow type \"$fmt\""))
    end
    valid === nothing && return vals
    out = Vector{Union{Missing,eltype(vals)}}(vals)
    out[.!valid] .= missing
    out
end
