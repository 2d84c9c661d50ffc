# Tables: read_parquet of the fixture tests/data/tables/people (pyarrow-written, every value a
# formula of the row's id, see make_people.py), each result against the same operation on
# plain Julia vectors built from those formulas: values, element types, missing.
using Dates

const PEOPLE = normpath(joinpath(@__DIR__, "..", "..", "..", "..", "tests", "data", "tables", "people"))

const IDS = collect(Int64, 0:999)
const WORDS = ["ann", "bob", "cy", "dee"]
expected_people() = (
    id = IDS,
    x = Union{Missing,Float64}[i % 7 == 3 ? missing : i * 0.5 - 100 for i in IDS],
    name = Union{Missing,String}[i % 11 == 5 ? missing : WORDS[i % 4 + 1] for i in IDS],
    day = [Date(2024, 1, 1) + Day(i % 60) for i in IDS],
    ts = [DateTime(2024, 1, 1) + Millisecond(1500i) for i in IDS],
    flag = [i % 3 == 0 for i in IDS],
    small = Int32[i % 50 - 25 for i in IDS],
)

"""The rows of the NamedTuple of vectors `nt` where `keep` (a Bool per row)."""
rows_where(nt, keep) = map(v -> v[keep], nt)

@testset "tables" begin
    want = expected_people()
    t = read_parquet(PEOPLE)

    @testset "lazy: schema and rows from the footers, nothing computed" begin
        @test names(t) == ["id", "x", "name", "day", "ts", "flag", "small"]
        shown = sprint(show, t)
        @test occursin("2 partitions", shown) && occursin("1000 rows", shown)
        @test occursin("name: Dictionary(Int32, Utf8)", shown)
    end

    @testset "collect: a NamedTuple of Julia vectors, missing for nulls" begin
        got = collect(t)
        @test keys(got) == keys(want)
        for k in keys(want)
            @test eltype(got[k]) == eltype(want[k])
            @test isequal(got[k], want[k])
        end
        @test first(t, 3).id == [0, 1, 2]
        @test isequal(first(t, 3).x, want.x[1:3])
        @test length(first(t, 2000).id) == 1000
    end

    @testset "every engine reads the same vectors" begin
        for engine in ("arrow", "column", "auto")
            got = collect(read_parquet(PEOPLE; engine = engine, split_row_groups = true))
            for k in keys(want)
                @test eltype(got[k]) == eltype(want[k])
                @test isequal(got[k], want[k])
            end
        end
        @test_throws DaskError read_parquet(PEOPLE; engine = "fastparquet")
    end

    @testset "filter with expressions, pushed into the read or applied after" begin
        e = (col(:x) > 100) & (col(:name) in ["ann", "cy"])
        @test occursin("ann", sprint(show, e))
        # Julia's own: rows where the condition is true (a missing condition drops the row)
        keep = coalesce.((want.x .> 100) .& in.(want.name, Ref(["ann", "cy"])), false)
        expect = rows_where(want, keep)
        for got in (collect(filter(e, t)), collect(read_parquet(PEOPLE; filter = e)))
            for k in keys(want)
                @test isequal(got[k], expect[k])
            end
        end
        pushed = read_parquet(PEOPLE; filter = col(:id) >= 950, split_row_groups = true)
        @test occursin("1 partitions", sprint(show, pushed)) # row groups of 100: one left
        @test collect(pushed).id == collect(950:999)
        @test collect(filter(ismissing(col(:name)), t)).id == IDS[IDS .% 11 .== 5]
        @test collect(filter(!(col(:flag)) & between(col(:small), -2, 2), t)).id ==
              IDS[(IDS .% 3 .!= 0) .& (-2 .<= IDS .% 50 .- 25 .<= 2)]
        @test collect(filter(col(:day) == Date(2024, 1, 5), t)).id == IDS[IDS .% 60 .== 4]
        @test collect(filter(col(:ts) < DateTime(2024, 1, 1, 0, 0, 3), t)).id == [0, 1]
    end

    @testset "select" begin
        s = select(t, :small, "id")
        @test names(s) == ["small", "id"]
        got = collect(s)
        @test got.small == want.small && got.id == want.id
        @test_throws DaskError select(t, :nope)
    end

    @testset "groupby + combine against Julia's own sum, mean, var over the groups" begin
        g = combine(groupby(t, :name), :x => sum, :x => mean => :avg, :small => maximum, :x => var)
        got = collect(g)
        @test keys(got) == (:name, :x_sum, :avg, :small_maximum, :x_var)
        # Groups sorted by key, the missing key last (DataFrames' skipmissing = false)
        @test isequal(got.name, [WORDS; missing])
        for (i, w) in enumerate(got.name)
            rows = isequal.(want.name, w)
            xs = want.x[rows]
            @test isequal(got.x_sum[i], sum(xs))          # missing: the group holds one
            @test isequal(got.avg[i], mean(xs))
            @test got.small_maximum[i] == maximum(want.small[rows])
            @test isequal(got.x_var[i], var(xs))
        end
        @test all(ismissing, got.x_sum) # every name meets an id % 7 == 3
        skip = collect(combine(groupby(t, :name; skipmissing = true), :x => sum, :x => var;
                               skipmissing = true))
        @test skip.name == WORDS
        for (i, w) in enumerate(WORDS)
            xs = collect(skipmissing(want.x[isequal.(want.name, w)]))
            @test skip.x_sum[i] ≈ sum(xs)
            @test skip.x_var[i] ≈ var(xs)
        end
        whole = collect(combine(t, :id => sum, :small => minimum, :x => mean; skipmissing = true))
        @test whole.id_sum == [sum(IDS)]
        @test whole.small_minimum == [minimum(want.small)]
        @test whole.x_mean ≈ [mean(skipmissing(want.x))]
        @test_throws ArgumentError combine(groupby(t, :name), :x => length)
    end

    @testset "write_parquet and read back" begin
        dir = joinpath(mktempdir(), "out")
        @test write_parquet(filter(col(:id) < 100, t), dir; partition_on = [:name]) == 100
        back = collect(read_parquet(dir))
        order = sortperm(back.id)
        @test back.id[order] == IDS[1:100]
        @test isequal(back.x[order], want.x[1:100])
        @test isequal(back.name[order], want.name[1:100]) # missing keys: their own directory
        @test_throws DaskError write_parquet(t, dir) # not empty: refused
    end

    @testset "sort against Julia's sortperm (stable, missing last or first with rev)" begin
        for key in (:x, :name, :small, :ts), rev in (false, true)
            got = collect(sort(t, key; rev = rev))
            p = sortperm(want[key]; rev = rev, alg = MergeSort)
            for k in keys(want)
                @test eltype(got[k]) == eltype(want[k])
                @test isequal(got[k], want[k][p])
            end
        end
        @test_throws DaskError sort(t, :nope)
    end

    @testset "errors" begin
        @test_throws DaskError read_parquet("/no/such/dir")
        @test_throws ArgumentError col(:x) > [1, 2]
        closed = read_parquet(PEOPLE)
        close(closed)
        @test_throws DaskError collect(closed)
    end
end

# CSV: a file written here with Julia's own printing (quoted newlines and quotes, NA for
# missing, dates), read back and compared with the vectors it was printed from.
@testset "read_csv and write_csv" begin
    dir = mktempdir()
    path = joinpath(dir, "notes.csv")
    ids = collect(1:500)
    xs = Union{Missing,Float64}[i % 9 == 0 ? missing : i / 4 for i in ids]
    notes = [i % 5 == 0 ? "two\nlines, \"quoted\" $i" : "plain $i" for i in ids]
    days = [Date(2024, 1, 1) + Day(i) for i in ids]
    open(path, "w") do io
        println(io, "id,x,note,day")
        for i in ids
            quoted = "\"" * replace(notes[i], "\"" => "\"\"") * "\""
            println(io, i, ",", xs[i] === missing ? "NA" : xs[i], ",", quoted, ",", days[i])
        end
    end
    t = read_csv(path; missingstring = "NA", blocksize = 1000)
    @test names(t) == ["id", "x", "note", "day"]
    @test occursin("partitions", sprint(show, t))
    got = collect(t)
    @test got.id == ids && eltype(got.id) == Int64
    @test isequal(got.x, xs) && eltype(got.x) == Union{Missing,Float64}
    @test got.note == notes
    @test got.day == days && eltype(got.day) == Date

    some = collect(read_csv(path; missingstring = ["NA"], types = Dict(:id => Int32),
                            select = [:note, :id], filter = col(:id) <= 10))
    @test keys(some) == (:note, :id)
    @test eltype(some.id) == Int32 && some.id == Int32.(1:10)
    @test some.note == notes[1:10]

    plain = joinpath(dir, "plain.txt")
    write(plain, "1;a\n2;b\n")
    named = collect(read_csv(plain; header = ["k", "s"], delim = ';'))
    @test named.k == [1, 2] && named.s == ["a", "b"]

    # NaN of both signs, infinities, zeros of both signs and missing, over 3 files (3
    # partitions): sort as Julia sorts, stably.
    floats = ["NaN", "-NaN", "inf", "-inf", "0.0", "-0.0", "", "1.5", "-2", "1.5", "7"]
    sdir = mktempdir()
    for f in 1:3
        open(joinpath(sdir, "part$f.csv"), "w") do io
            println(io, "id,v")
            for i in 1:40
                println(io, 100f + i, ",", floats[(7i + 3f) % length(floats) + 1])
            end
        end
    end
    st = read_csv(sdir; types = Dict(:v => Float64))
    whole = collect(st)
    @test eltype(whole.v) == Union{Missing,Float64} && any(isnan, skipmissing(whole.v))
    @test any(x -> isnan(x) && signbit(x), skipmissing(whole.v))
    for rev in (false, true)
        got = collect(sort(st, :v; rev = rev))
        p = sortperm(whole.v; rev = rev, alg = MergeSort)
        @test got.id == whole.id[p]
        @test isequal(got.v, whole.v[p]) && eltype(got.v) == eltype(whole.v)
    end

    out = joinpath(dir, "out")
    @test write_csv(t, out) == length(ids)
    back = collect(read_csv(out))  # missing was written as an empty field
    @test back.id == ids && isequal(back.x, xs) && back.note == notes && back.day == days

    bad = joinpath(dir, "bad.csv")
    write(bad, "k,v\n1,2\n3,zz\n")
    err = try
        collect(read_csv(bad; types = Dict(:v => Int64)))
        nothing
    catch e
        e
    end
    @test err isa DaskError && occursin("bad.csv, line 3, column 'v'", sprint(showerror, err))
    @test collect(read_csv(bad; types = Dict(:v => Int64), skipbadrows = true)).k == [1]
    @test_throws ArgumentError read_csv(bad; types = Dict(:v => ComplexF64))
    @test_throws ArgumentError read_csv(bad; delim = 'é')
    @test_throws DaskError read_csv(joinpath(dir, "none*.csv"))
end
