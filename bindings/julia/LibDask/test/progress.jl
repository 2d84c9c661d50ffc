# Progress while waiting: the counts against the computation's own task count, the bar's
# text against Julia's arithmetic, a bar on a pseudo-terminal (a Julia process under
# `script`, as a user at a terminal), plain lines elsewhere, and `progress = false`.
@testset "progress" begin
    A = rand(300, 200)
    x = DaskArray(A; chunks = (50, 40))
    f = submit(exp.(x) .+ 1)
    wait(f; progress = false)
    done, total = LibDask.progress(f)
    @test done isa Int && total isa Int
    @test done == total
    # The blocks' tasks and the one that assembles the array.
    ON_CLUSTER || @test total == LibDask.task_count(exp.(x) .+ 1) + 1

    # The text: Julia's own percent, rate and counts.
    for (d, t, s) in ((412, 1000, 0.5), (7, 9, 3.0), (0, 5, 1.0))
        line = LibDask.progress_text(d, t, s; terminal = false)
        @test line isa String
        @test startswith(line, "$d/$t tasks ($(floor(Int, 100d / t))%), ")
        @test occursin("$(round(Int, d / s)) tasks/s", line)
    end
    bar = LibDask.progress_text(250, 1000, 2.0; terminal = true, width = 60)
    inside = bar[2:findfirst(']', bar) - 1]
    @test count(==('#'), inside) == length(inside) ÷ 4
    @test length(bar) <= 60

    # Elsewhere than a terminal: plain lines, the last one complete.
    io = IOBuffer()
    LibDask.PROGRESS_DELAY[] = 0.0
    f = submit(sin.(x) .* 2)
    p = LibDask.start_progress(f, io)
    sleep(0.3) # the drawing task's first line
    wait(f; progress = false)
    LibDask.stop_progress(p, true)
    LibDask.PROGRESS_DELAY[] = 1.0
    lines = split(String(take!(io)), '\n'; keepempty = false)
    @test length(lines) == 2
    @test !any(l -> occursin('\r', l) || occursin('\e', l), lines)
    # On a cluster the count is of the computation's outputs (what the cluster reports).
    n = ON_CLUSTER ? 1 : LibDask.task_count(sin.(x) .* 2) + 1
    @test startswith(lines[end], "$n/$n tasks (100%)") && occursin("done in", lines[end])

    # At a terminal: `collect` draws the bar in place; `progress = false` draws nothing.
    if ON_CLUSTER || Sys.which("script") === nothing
        @info "progress at a terminal: not run " * (ON_CLUSTER ? "on a cluster (it counts outputs there)" : "(no `script`)")
    else
        code = """
            push!(LOAD_PATH, $(repr(normpath(joinpath(@__DIR__, "..", "..")))))
            using LibDask
            LibDask.PROGRESS_DELAY[] = 0.05
            x = DaskArray(rand(4000, 4000); chunks = (100, 100))
            collect(exp.(x) .* sin.(x) .+ cos.(x) .^ 3; progress = false)
            print(stderr, "<quiet>")
            y = collect(exp.(x) .* sin.(x) .+ cos.(x) .^ 2)
            print(stderr, "<end>")
            """
        script = tempname() * ".jl"
        write(script, code)
        cmd = `script -qec $(join(Base.shell_escape.([JULIA.exec; script]), " ")) /dev/null`
        out = read(setenv(cmd, merge(ENV, Dict("COLUMNS" => "100"))), String)
        before, after = split(out, "<quiet>")
        drawn = split(after, "<end>")[1]
        @test !occursin('\r', before)           # progress = false, and the warm-up
        @test count(==('\r'), drawn) >= 2       # redrawn in place (the last \r\n is the tty's)
        @test occursin("100% ", drawn) && occursin("done in", drawn)
        @test occursin("\e[K", drawn)
        rm(script)
    end
end
