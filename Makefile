# IAM — build, run, test. See README.md.
#   make          build build/iamd
#   make run      install what is missing, build, start on the embedded default
#   make test     install what is missing, build, run every test suite
#   make asan     sanitizer build (ASan + UBSan) running the unit and API tests
#   make bench    benchmarks (bench/*.sh)
#   make format-check   fail when a C file differs from what clang-format makes of it

CC      ?= gcc
BUILD   ?= build
PKGS    := libmicrohttpd jansson sqlite3 libpq libsodium libjwt libcurl libmagic nettle \
           libavformat libavcodec libswresample libavutil pocketsphinx sphinxbase fftw3f \
           hiredis libzip pangocairo fontconfig hogweed gmp
# -isystem: third-party headers (sphinxbase, FFmpeg) must not trip our -Werror
PKG_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter -Wno-missing-field-initializers
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += -std=c17 -D_GNU_SOURCE $(WARN) $(OPT) -Isrc -I$(BUILD)/gen $(PKG_CFLAGS)
ifeq ($(SAN),1)
  HARDEN  := -fPIE
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif
CFLAGS  += $(HARDEN)
LDFLAGS += -pie -Wl,-z,relro,-z,now
# libunistring (NFKC and case folding of e-mail addresses), wslay (WebSocket
# framing) and libstemmer (Snowball) ship no pkg-config file
LDLIBS  = $(PKG_LIBS) -lwslay -lstemmer -lunistring -lpthread -lm -ldl

SRC      := $(shell find src -name '*.c' | sort)
OBJ      := $(SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations.o
LIB_OBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
SQL      := $(sort $(wildcard src/store/sql/*.sql))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# The web app (web/ -> web/dist), once it exists; built with the npm packages install-deps fetches.
WEB_SRC  := $(shell find web -path web/dist -prune -o -type f -print 2>/dev/null)
WEB_DIST := $(if $(wildcard web/index.html),web/dist/index.html)

# clang-format (Debian 12's clang-format 14) checks and formats every C file.
FORMAT_FILES := $(shell find src tests/unit -name '*.[ch]' | sort)

.PHONY: all run test asan unit bench deps clean format format-check
all: $(BUILD)/iamd $(WEB_DIST)

web/dist/index.html: $(WEB_SRC) package.json package-lock.json
	@[ -x node_modules/.bin/vite ] || scripts/install-deps
	npm run --silent build:web

$(BUILD)/iamd: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/migrations.c: $(SQL) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh $(SQL) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-overlength-strings $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

deps:
	@scripts/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/iamd serve

test: deps
	@$(MAKE) --no-print-directory all unit
	scripts/test-all $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT="-O1 -g" all unit
	IAM_TEST_BROWSER=0 scripts/test-all build-asan

bench: deps
	@$(MAKE) --no-print-directory all
	bench/http.sh

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@command -v clang-format >/dev/null || { echo "format-check: clang-format is missing (scripts/install-deps)" >&2; exit 1; }
	@bad=$$(for f in $(FORMAT_FILES); do clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || echo "$$f"; done); \
	if [ -n "$$bad" ]; then \
		echo "format-check: these files differ from .clang-format (run make format):" >&2; \
		printf '  %s\n' $$bad >&2; \
		exit 1; \
	fi

clean:
	rm -rf build build-asan web/dist

-include $(OBJ:.o=.d)
