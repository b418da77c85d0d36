# Thin wrapper over Meson. `make` builds, `make check` runs every test, `make install` installs.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
PREFIX ?= /usr/local

.PHONY: all check unit e2e fuzz asan ci install clean bench

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false -Db_lundef=false

# Every test: unit and end-to-end on the ASan+UBSan build, then each fuzz harness for a bounded time.
check: $(ASAN_BUILD)/build.ninja $(FUZZ_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ninja -C $(FUZZ_BUILD)
	tests/run-all.sh --build $(ASAN_BUILD) --fuzz-build $(FUZZ_BUILD) --fuzz-seconds $(FUZZ_SECONDS)

unit: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	tests/run-all.sh --build $(ASAN_BUILD) --only unit

e2e: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	tests/run-all.sh --build $(ASAN_BUILD) --only e2e

# Exploratory fuzzing: `make fuzz FUZZ_SECONDS=600 FUZZ_SEED=0 FUZZ_RUNS=-1` (random, unbounded runs).
fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	tests/run-all.sh --fuzz-build $(FUZZ_BUILD) --fuzz-seconds $(FUZZ_SECONDS) --only fuzz

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
