# relief -- one non-recursive Makefile for the node, its tests, benchmarks and fuzz targets.
#
#   make            build build/relief
#   make run        install missing packages, build, make a demo node, serve it on :8080
#   make test       install missing packages, build, run every test (also under ASan/UBSan)
#   make bench      run the benchmarks
#   make fuzz       run the libFuzzer targets (clang)
#   make install PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined   a sanitized build in build-san/

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
CC ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
O ?= build
else
O ?= build-san
endif

# Debian 12 calls msgpack-c's module "msgpack"; newer systems call it "msgpack-c".
MSGPACK_PC = $(shell pkg-config --exists msgpack-c 2>/dev/null && echo msgpack-c || echo msgpack)
PKGS_CORE = lmdb $(MSGPACK_PC) libsodium jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS_CORE) $(PKGS_NET) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS_CORE) 2>/dev/null)
# The network side (relief-net: serve, sync) alone links libuv, libcurl, zlib and http-parser,
# so the commands that never touch the network start without ~30 more shared libraries.
PKGS_NET = libuv libcurl zlib
NET_LIBS = $(shell pkg-config --libs $(PKGS_NET) 2>/dev/null) -lhttp_parser
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
       -Wvla -Wpointer-arith -Wundef -Wnull-dereference -Wimplicit-fallthrough
OPT ?= -O2 -g
CFLAGS ?=
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) -I. $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS ?=
ifneq ($(SANITIZE),)
CFLAGS_ALL += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

PROTO_SRC = $(wildcard proto/*.c)
SYNC_SRC = $(wildcard sync/*.c)
RELIEF_LIB_SRC = $(filter-out relief/main.c relief/cmd_%.c relief/net_%.c,$(wildcard relief/*.c))
RELIEF_CLI_SRC = relief/main.c $(wildcard relief/cmd_*.c)
RELIEF_NET_SRC = $(wildcard relief/net_*.c)
# what relief serve answers, without relief-net's main: for relief-net and the fuzz targets
NET_LIB_SRC = $(filter-out relief/net_main.c,$(RELIEF_NET_SRC))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
HELPER_SRC = $(wildcard tests/helpers/*.c)
BENCH_SRC = $(wildcard tools/bench/*.c)
FUZZ_SRC = $(wildcard tools/fuzz/fuzz_*.c)
FUZZ_LIB_SRC = tools/fuzz/fuzznode.c

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

LIBPROTO = $(O)/libproto.a
LIBSYNC = $(O)/libsync.a
LIBRELIEF = $(O)/librelief.a
LIBNET = $(O)/libnet.a
RELIEF = $(O)/relief
RELIEF_NET = $(if $(RELIEF_NET_SRC),$(O)/relief-net)
UNIT_BINS = $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
HELPER_BINS = $(patsubst tests/helpers/%.c,$(O)/tests/%,$(HELPER_SRC))
BENCH_BINS = $(patsubst tools/bench/%.c,$(O)/bench/%,$(BENCH_SRC))
REPLAY_BINS = $(patsubst tools/fuzz/fuzz_%.c,$(O)/fuzz/replay_%,$(FUZZ_SRC))

.PRECIOUS: $(O)/obj/%.o
.PHONY: FORCE all deps deps-build run test check check-unit tests bench fuzz install clean format
all: $(RELIEF) $(RELIEF_NET)

deps:
	@sh tools/deps.sh test
deps-build:
	@sh tools/deps.sh build

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIBPROTO): $(call obj,$(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIBRELIEF): $(call obj,$(RELIEF_LIB_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIBSYNC): $(call obj,$(SYNC_SRC)) $(O)/obj/empty.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIBNET): $(call obj,$(NET_LIB_SRC)) $(O)/obj/$(O)/gen/web.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(O)/obj/empty.o:
	@mkdir -p $(dir $@)
	printf 'typedef int relief_empty_unit;\n' | $(CC) -x c -c -o $@ -

# the dashboard (relief/web), embedded in relief-net; embed rewrites web.c only when it changes
WEB_FILES = $(sort $(shell find relief/web -type f ! -name '.*' 2>/dev/null))
WEB_C = $(O)/gen/web.c
$(O)/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -o $@ $<
$(WEB_C): $(O)/embed $(WEB_FILES) FORCE
	@mkdir -p $(dir $@)
	@$(O)/embed $@ relief/web $(WEB_FILES)
FORCE:

$(O)/relief-net: $(O)/obj/relief/net_main.o $(O)/obj/relief/cmd_util.o $(LIBNET) $(LIBRELIEF) $(LIBSYNC) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(NET_LIBS)

$(RELIEF): $(call obj,$(RELIEF_CLI_SRC)) $(LIBRELIEF) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/%: $(O)/obj/tests/unit/%.o $(LIBRELIEF) $(LIBSYNC) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(NET_LIBS) $(CMOCKA_LIBS)
$(HELPER_BINS): $(O)/tests/%: $(O)/obj/tests/helpers/%.o $(LIBRELIEF) $(LIBSYNC) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(NET_LIBS)
$(O)/bench/%: $(O)/obj/tools/bench/%.o $(LIBRELIEF) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lz
$(O)/fuzz/replay_%: $(O)/obj/tools/fuzz/fuzz_%.o $(O)/obj/tools/fuzz/replay.o $(call obj,$(FUZZ_LIB_SRC)) $(LIBNET) $(LIBRELIEF) $(LIBSYNC) $(LIBPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(NET_LIBS)

# the deterministic simulator of many nodes (tools/sim), run by tests/integration/test_sim.sh
SIM = $(O)/sim
$(SIM): $(O)/obj/tools/sim/sim.o $(LIBRELIEF) $(LIBSYNC) $(LIBPROTO)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(NET_LIBS)

tests: $(RELIEF) $(RELIEF_NET) $(UNIT_BINS) $(HELPER_BINS) $(REPLAY_BINS) $(SIM)

# Unit tests only, for a sanitized build: make SANITIZE=address,undefined check-unit
check-unit: $(UNIT_BINS) $(REPLAY_BINS)
	@sh tests/run.sh --build $(O) --unit-only

# Every test of this build (no package installation).
check: tests
	@$(MAKE) --no-print-directory SANITIZE=address,undefined tests
	@sh tests/run.sh --build $(O) --san-build build-san

test: deps
	@$(MAKE) --no-print-directory check

bench:
	@sh tools/deps.sh bench
	@$(MAKE) --no-print-directory all $(HELPER_BINS) $(BENCH_BINS)
	@sh tools/bench/run.sh $(O)

# make fuzz [FUZZ=http] [FUZZ_TIME=600]: each target (or one) for FUZZ_TIME seconds over its
# corpus, with tools/fuzz/NAME.dict when there is one; new inputs land in build/fuzz/new-NAME
# (merge them with: build/fuzz/fuzz_NAME -merge=1 tools/fuzz/corpus/NAME build/fuzz/new-NAME).
FUZZ_TIME ?= 60
FUZZ ?= $(patsubst tools/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_CC_SRC = $(PROTO_SRC) $(SYNC_SRC) $(RELIEF_LIB_SRC) $(NET_LIB_SRC) $(WEB_C) $(FUZZ_LIB_SRC)
$(O)/fuzz/fuzz_%: tools/fuzz/fuzz_%.c $(FUZZ_CC_SRC)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -I. $(PKG_CFLAGS) \
	  -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_CC_SRC) $(PKG_LIBS) $(NET_LIBS)
fuzz:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory $(WEB_C)
	@for n in $(FUZZ); do \
	  $(MAKE) --no-print-directory $(O)/fuzz/fuzz_$$n || exit 1; \
	  mkdir -p tools/fuzz/corpus/$$n $(O)/fuzz/new-$$n; \
	  d=; [ -f tools/fuzz/$$n.dict ] && d=-dict=tools/fuzz/$$n.dict; \
	  $(O)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $$d \
	    -artifact_prefix=$(O)/fuzz/crash-$$n- $(O)/fuzz/new-$$n tools/fuzz/corpus/$$n || exit 1; \
	done

run: deps
	@$(MAKE) --no-print-directory all
	@sh tools/run.sh $(O)

install: $(RELIEF) $(RELIEF_NET)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(RELIEF) $(DESTDIR)$(BINDIR)/relief

format:
	clang-format -i $(PROTO_SRC) $(SYNC_SRC) $(wildcard proto/*.h sync/*.h relief/*.c relief/*.h tests/unit/*.c tools/*/*.c)

clean:
	rm -rf build build-san

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
