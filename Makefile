# Makefile - builds every program in filters/ into bin/, runs the tests,
# installs, benchmarks and demonstrates sluice.
#
# CFLAGS, LDFLAGS and LDLIBS are the user's; the project's own flags live in
# SL_* variables and are appended.  Variant builds (SANITIZE=1) go to their
# own build directory so they never mix objects with the normal build.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/sluice

CC      ?= cc
CFLAGS  ?= -O2 -g
PKG_CONFIG ?= pkg-config

VERSION := 0.1.0

SL_WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
ifeq ($(WERROR),1)
SL_WARN += -Werror
endif

ifeq ($(SANITIZE),1)
O := build-san
SL_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
else
O := build
SL_SAN :=
endif

SL_CPPFLAGS := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DSLUICE_VERSION='"$(VERSION)"' -Icommon -MMD -MP

# Libraries, named once per program (skarnet's deps-exe idea): each program
# links only what it uses.  common/ itself needs jansson and PCRE2.
PKGS_common       := jansson libpcre2-8 yaml-0.1
PKGS_event-decode := $(PKGS_common)
PKGS_anomaly-detect := $(PKGS_common)
PKGS_rate-gate    := $(PKGS_common) hiredis
PKGS_webhook-send := $(PKGS_common) libcurl libcrypto

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

PROGRAMS := $(sort $(notdir $(basename $(wildcard filters/*.c))) \
	$(notdir $(patsubst %/,%,$(wildcard filters/*/))))
BINS := $(PROGRAMS:%=$(O)/bin/%)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
LIBSLUICE  := $(O)/libsluice.a

UNIT_SRC := $(wildcard t/common/*.c)
UNITS    := $(UNIT_SRC:t/common/%.c=$(O)/t/%)

# Debian packages the project needs, in one place (make deps).
DEBS := gcc make libc6-dev pkg-config \
	libjansson-dev libyaml-dev libhiredis-dev libcurl4-openssl-dev \
	libsqlite3-dev libpcre2-dev libssl-dev \
	bats bats-assert bats-support redis-server mandoc \
	python3 python3-jsonschema jq mawk valgrind clang libclang-rt-14-dev \
	nginx-light curl openssl

# Fuzzers (libFuzzer): one per t/fuzz/fuzz-*.c, with ASan and UBSan, in
# their own directory.  `make fuzz` runs each for FUZZ_SECONDS; `make
# check` runs each for a few seconds over its corpus (when clang is here).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build-fuzz
FUZZERS      := $(patsubst t/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard t/fuzz/fuzz-*.c))
FUZZ_LINK    := filters/anomaly-detect/rules.c filters/anomaly-detect/engine.c
HAVE_FUZZ    := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo 1)

.PHONY: all check deps install clean bench demo lint units fuzz
# bin/ holds the plain build only; variant builds stay in their directory.
all: $(BINS)
ifeq ($(O),build)
	@mkdir -p bin && for p in $(PROGRAMS); do ln -sf ../$(O)/bin/$$p bin/$$p; done
endif

# Objects: one rule for common/, filters/ and unit tests alike.
$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SL_WARN) $(SL_SAN) $(SL_CPPFLAGS) $(if $(filter filters/%,$<),-I$(dir $<)) $(call pkg_cflags,$(PKGS_common)) \
		$(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBSLUICE): $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# A program is filters/NAME.c or every .c in filters/NAME/.
prog_objs = $(patsubst %.c,$(O)/%.o,$(wildcard filters/$(1).c filters/$(1)/*.c))
.SECONDEXPANSION:
.SECONDARY:
$(O)/bin/%: $$(call prog_objs,$$*) $(LIBSLUICE)
	@mkdir -p $(@D)
	$(CC) $(SL_SAN) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBSLUICE) \
		$(call pkg_libs,$(or $(PKGS_$*),$(PKGS_common))) $(LDLIBS)

# A unit test of a program's own file names the objects and libraries it
# needs beyond common/ here.
UNIT_OBJS_test-sign := filters/webhook-send/sign.o filters/webhook-send/ssrf.o
UNIT_PKGS_test-sign := libcrypto

$(O)/t/%: $(O)/t/common/%.o $$(addprefix $(O)/,$$(UNIT_OBJS_$$*)) $(LIBSLUICE)
	@mkdir -p $(@D)
	$(CC) $(SL_SAN) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBSLUICE) \
		$(call pkg_libs,$(PKGS_common) $(UNIT_PKGS_$*)) $(LDLIBS)

units: $(UNITS)

$(FUZZ_DIR)/fuzz-%: t/fuzz/fuzz-%.c $(COMMON_SRC) $(wildcard common/*.h) \
		$(FUZZ_LINK) $(wildcard filters/anomaly-detect/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
		-DSLUICE_VERSION='"$(VERSION)"' -Icommon -Ifilters/anomaly-detect \
		$(call pkg_cflags,$(PKGS_common)) -o $@ $< $(COMMON_SRC) $(FUZZ_LINK) \
		$(call pkg_libs,$(PKGS_common) hiredis)

fuzz: $(FUZZERS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh t/fuzz/run.sh $(FUZZERS)

check: all units $(if $(HAVE_FUZZ),$(FUZZERS))
	@SLUICE_BIN=$(CURDIR)/$(O)/bin SLUICE_UNITS=$(CURDIR)/$(O)/t \
		SLUICE_FUZZ=$(if $(HAVE_FUZZ),$(CURDIR)/$(FUZZ_DIR)) bash t/run.sh

deps:
	@sh tools/deps.sh $(DEBS)

lint:
	mandoc -Tlint -Wwarning man/man*/*.[1-9]

bench: all
	@sh bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(DATADIR)/rules $(DESTDIR)$(DATADIR)/pipelines \
		$(DESTDIR)$(DATADIR)/schema
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	for f in man/man1/*.1 man/man5/*.5 man/man7/*.7; do \
		[ -f "$$f" ] || continue; \
		d=$$(basename $$(dirname $$f)); \
		install -m 644 $$f $(DESTDIR)$(MANDIR)/$$d; \
	done
	for f in rules/*.yaml pipelines/*; do \
		[ -f "$$f" ] || continue; \
		install -m 644 $$f $(DESTDIR)$(DATADIR)/$$(dirname $$f); \
	done
	install -m 644 schema/* $(DESTDIR)$(DATADIR)/schema

clean:
	rm -rf build build-san build-fuzz bin

-include $(COMMON_OBJ:.o=.d) $(wildcard $(O)/filters/*.d $(O)/filters/*/*.d $(O)/t/common/*.d)
