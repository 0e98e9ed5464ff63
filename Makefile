# The two commands of the README: `make run` and `make test`. Everything else is optional.
BUILD_DIR      ?= build
SAN_BUILD_DIR  ?= build-sanitize
DATA_DIR       ?= ./data
LISTEN         ?= 127.0.0.1:8080
JOBS           ?= $(shell nproc)
GENERATOR      := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

.PHONY: setup configure build run test test-sanitize bench soak clean

setup:
	@bash tools/setup.sh

configure: setup
	@cmake -S . -B $(BUILD_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p $(DATA_DIR)
	$(BUILD_DIR)/tools/rosterd --data-dir $(DATA_DIR) --listen $(LISTEN)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE "soak|bench"

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, in their own build dir.
test-sanitize: setup
	@cmake -S . -B $(SAN_BUILD_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug \
	  -DROSTER_SANITIZE=ON -DROSTER_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(SAN_BUILD_DIR) -j $(JOBS)
	@cd $(SAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE "soak|bench|slow_under_sanitizer"

bench: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -L bench --verbose

soak: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -L soak --verbose

clean:
	rm -rf $(BUILD_DIR) $(SAN_BUILD_DIR)
