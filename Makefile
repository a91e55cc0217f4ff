# Sened: `make demo` runs the whole exchange on one machine; `make test`
# runs every test, then again under AddressSanitizer and UBSan.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps build build-asan demo test test-release test-asan fuzz bench format clean

deps:
	@scripts/install-deps.sh

# Line tables only (-g1): enough for stack traces and gdb's backtraces, and
# about a fifth less compile time than full debug information.
$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# -Og: under the sanitizers it compiles in less than half the time of -O1
# (coroutine-heavy network code most of all); the benchmarks are left out.
$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-Og -g1" -DSENED_SANITIZE=ON -DSENED_BENCH=OFF $(CMAKE_FLAGS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	$(BUILD)/sened demo --once

# The tests run beside a throw-away PostgreSQL server (SENED_TEST_PG_URL),
# which the script stops again however ctest ends.
test-release: build
	scripts/pg-test-server.sh run -- sh -c 'cd $(BUILD) && ctest --output-on-failure -j $(JOBS)'

test-asan: build-asan
	scripts/pg-test-server.sh run -- sh -c 'cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)'

test: test-release test-asan

fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DSENED_FUZZ=ON \
	  -DSENED_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j $(JOBS)

# cluster_bench measures SQLite, one PostgreSQL node and three PostgreSQL
# nodes in one run, beside a throw-away PostgreSQL server.
bench: build
	scripts/pg-test-server.sh run -- $(BUILD)/cluster_bench --clients 64 --seconds 10 --runs 3
	$(BUILD)/submit_bench --clients 16 --seconds 10 --large-mib 1024
	$(BUILD)/latency_bench --rate 200 --seconds 30
	$(BUILD)/proof_bench

format:
	find src tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
