# faultline - build, test, demo, bench.
#
#   make            build/faultline (BPF programs embedded as libbpf skeletons)
#   make deps       install the Debian packages the project needs, mount bpffs
#   make test       deps + sanitizer build + every test; last line "N passed, N failed"
#   make demo       deps + build + the self-contained demo experiment
#   make bench      per-packet cost of the classifier against a baseline program
#   make format     clang-format every C file in place (format-check: verify only)
#   make man        the man pages faultline(1), faultlined(8), faultline-scenario(5)
#                   from docs/*.md with pandoc, into $(BUILD)/man
#   make install    faultline, faultlined, the systemd unit, the man pages and the docs
#                   under $(DESTDIR)$(PREFIX) (PREFIX=/usr/local); uninstall removes them
#
# Outputs go under $(BUILD) (build/, or build/san for the sanitizer build).

BUILD    ?= build
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
DOCDIR   ?= $(PREFIX)/share/doc/faultline
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SANITIZE ?= 0
CLANG    ?= clang
BPFTOOL  ?= bpftool
LLVM_STRIP ?= llvm-strip

NL_CFLAGS := $(shell pkg-config --cflags libnl-3.0 libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -I. -I$(BUILD) $(NL_CFLAGS)
LDLIBS   := -lbpf -lelf -lz -lcjson -lyaml -lnl-route-3 -lnl-3 -lnetfilter_queue -lnftnl -lmnl -lcurl -lsqlite3 -lmicrohttpd -lcap-ng -lpthread -lm
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS   += $(SANFLAGS)
LDFLAGS  += $(SANFLAGS)
endif

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_HDRS   := $(wildcard bpf/lib/*.h) $(wildcard include/faultline/*.h)
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LIB_SRCS   := $(wildcard injector/*.c scenarios/*.c) api/store.c
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CLI_SRCS   := $(wildcard cli/*.c)
CLI_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
DAEMON_SRCS := $(filter-out api/store.c,$(wildcard api/*.c))
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(DAEMON_SRCS))
UNIT_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c tests/bpf/test_*.c))
TOOLS      := $(patsubst tests/tools/%.c,$(BUILD)/%,$(wildcard tests/tools/*.c))
HELPERS    := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(wildcard tests/helpers/*.c))
BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
HDRS       := $(wildcard include/faultline/*.h injector/*.h scenarios/*.h cli/*.h api/*.h) $(SKELS)

.PHONY: all deps test unit e2e demo bench format format-check clean tools install uninstall man
.DELETE_ON_ERROR:
# keep the BPF objects and skeletons: they are inputs of every C object
.SECONDARY:

all: $(BUILD)/faultline $(BUILD)/faultlined

deps:
	@scripts/install-deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -Ibpf -I$(BUILD) -c $< -o $@
	$(LLVM_STRIP) -g $@ 2>/dev/null || true

# libbpf 1.1 skeletons; the object name is fl_<file>, e.g. fl_classifier.
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name fl_$* > $@

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# the server builds docs/openapi.json in (.incbin)
$(BUILD)/obj/api/server.o: docs/openapi.json

$(BUILD)/libfaultline.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/faultline: $(CLI_OBJS) $(BUILD)/libfaultline.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/faultlined: $(DAEMON_OBJS) $(BUILD)/libfaultline.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/libfaultline.a $(HDRS) $(wildcard tests/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libfaultline.a $(LDLIBS) -lcmocka -o $@

$(BUILD)/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< -lm -o $@

# test helpers that drive the library directly
$(BUILD)/helpers/%: tests/helpers/%.c $(BUILD)/libfaultline.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libfaultline.a $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(BUILD)/libfaultline.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libfaultline.a $(LDLIBS) -o $@

tools: $(TOOLS) $(HELPERS)

# The sanitizer build is what the tests exercise.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=1 BUILD=build/san all tools $(patsubst $(BUILD)/%,build/san/%,$(UNIT_TESTS))
	@tests/run.sh build/san

demo: deps all tools
	@examples/demo.sh $(BUILD)

bench: deps all $(BENCHES) tools
	@bench/run.sh $(BUILD)

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf build

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(BUILD)/man/faultline.1 $(DESTDIR)$(MANDIR)/man1/faultline.1
	install -m 0644 $(BUILD)/man/faultline-scenario.5 $(DESTDIR)$(MANDIR)/man5/faultline-scenario.5
	install -m 0644 $(BUILD)/man/faultlined.8 $(DESTDIR)$(MANDIR)/man8/faultlined.8
	install -m 0755 $(BUILD)/faultline $(DESTDIR)$(BINDIR)/faultline
	install -m 0755 $(BUILD)/faultlined $(DESTDIR)$(SBINDIR)/faultlined
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' packaging/faultlined.service.in > $(DESTDIR)$(UNITDIR)/faultlined.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/faultlined.service
	install -m 0644 README.md docs/*.md docs/*.json docs/*.xsd $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 examples/*.yaml $(DESTDIR)$(DOCDIR)/examples/
	install -D -m 0644 completions/faultline.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/faultline && ln -sf faultline $(DESTDIR)$(PREFIX)/share/bash-completion/completions/faultlined

# Man pages: docs/NAME.SECTION.md -> $(BUILD)/man/NAME.SECTION, pandoc's man
# writer with docs/man.lua (tables as lists; faultline-scenario.5.md includes
# docs/scenario.md). Title and section come from the file name, the version
# from cli/main.c, the date from the source's last commit (else today).
PANDOC      ?= pandoc
MAN_PAGES   := $(BUILD)/man/faultline.1 $(BUILD)/man/faultlined.8 $(BUILD)/man/faultline-scenario.5
MAN_VERSION := $(shell sed -n 's/.*define FL_VERSION "\(.*\)".*/\1/p' cli/main.c)

man: $(MAN_PAGES)

$(BUILD)/man/faultline-scenario.5: docs/scenario.md
$(BUILD)/man/%: docs/%.md docs/man.lua
	@mkdir -p $(@D)
	date=$$(git log -1 --format=%cs -- $(filter %.md,$^) 2>/dev/null); \
	$(PANDOC) --standalone --from markdown-smart --to man --lua-filter docs/man.lua \
		-M title=$(shell echo '$(basename $*)' | tr a-z A-Z) -M section=$(subst .,,$(suffix $*)) \
		-M header='faultline manual' -M footer='faultline $(MAN_VERSION)' \
		-M date="$${date:-$$(date -u +%F)}" $< -o $@

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/faultline $(DESTDIR)$(SBINDIR)/faultlined $(DESTDIR)$(UNITDIR)/faultlined.service
	rm -rf $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/faultline.1 $(DESTDIR)$(MANDIR)/man5/faultline-scenario.5 $(DESTDIR)$(MANDIR)/man8/faultlined.8
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/faultline $(DESTDIR)$(PREFIX)/share/bash-completion/completions/faultlined

# ------------------------------------------------------------------
# Fuzzing (docs/fuzzing.md): libFuzzer harnesses fuzz/fuzz_<h>.c, built with
# clang into $(FUZZ_DIR)/fuzz_<h> against the library compiled with the same
# flags into $(FUZZ_DIR)/obj; the linker takes from that archive only the
# objects a harness needs.
#   make fuzz-build     build the harnesses
#   make fuzz           fuzz each one FUZZ_SECONDS (600) on a copy of its corpus
#   make fuzz-regress   run each over fuzz/corpus/<h> and fuzz/regress/<h> once (TAP)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_DIR     := $(BUILD)/fuzz
FUZZERS      := scenario units inject_args api_body api_http
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -DFL_FUZZ \
		-std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -I. -I$(BUILD) $(NL_CFLAGS)
FUZZ_LIB     := $(FUZZ_DIR)/obj/libfaultline.a
FUZZ_RUN     := nice -n 19
# the objects each harness links besides the library archive
FUZZ_EXTRA_inject_args := $(FUZZ_DIR)/obj/cli/inject.o $(FUZZ_DIR)/obj/cli/ctl.o \
			  $(FUZZ_DIR)/obj/cli/err.o
FUZZ_EXTRA_api_body    := $(FUZZ_DIR)/obj/api/problem.o
FUZZ_EXTRA_api_http    := $(FUZZ_DIR)/obj/api/problem.o

.PHONY: fuzz-build fuzz fuzz-regress

fuzz-build: $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZERS))

$(FUZZ_DIR)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_inject_args: $(FUZZ_EXTRA_inject_args)
$(FUZZ_DIR)/fuzz_api_body: $(FUZZ_EXTRA_api_body)
$(FUZZ_DIR)/fuzz_api_http: api/server.c docs/openapi.json $(FUZZ_EXTRA_api_http)
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB) $(HDRS) api/manager.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_EXTRA_$*) $(FUZZ_LIB) $(LDLIBS) -o $@

fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/logs; \
	for h in $(FUZZERS); do \
		rm -rf $(FUZZ_DIR)/corpus/$$h $(FUZZ_DIR)/crashes/$$h; \
		mkdir -p $(FUZZ_DIR)/corpus/$$h $(FUZZ_DIR)/crashes/$$h; \
		cp fuzz/corpus/$$h/* $(FUZZ_DIR)/corpus/$$h/ 2>/dev/null; \
		echo "# fuzz $$h for $(FUZZ_SECONDS)s (log: $(FUZZ_DIR)/logs/$$h.log)"; \
		$(FUZZ_RUN) $(FUZZ_DIR)/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$h/ $(FUZZ_DIR)/corpus/$$h \
			>$(FUZZ_DIR)/logs/$$h.log 2>&1; \
		rc=$$?; \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/logs/$$h.log | tail -n 1); \
		last=$$(grep -E '^#[0-9]+.*cov: ' $(FUZZ_DIR)/logs/$$h.log | tail -n 1); \
		cov=$$(echo "$$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p'); \
		ft=$$(echo "$$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p'); \
		crashes=$$(ls $(FUZZ_DIR)/crashes/$$h | wc -l); \
		echo "fuzz $$h: execs $${execs:-?} cov $${cov:-?} ft $${ft:-?} crashes $$crashes exit $$rc corpus $$(ls $(FUZZ_DIR)/corpus/$$h | wc -l)"; \
	done

# Exits 0 with "# skip" lines where clang cannot link a libFuzzer program.
fuzz-regress:
	@n=0; fail=0; \
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' | \
		$(FUZZ_CC) -x c - -fsanitize=fuzzer -o /dev/null >/dev/null 2>&1; then \
		for h in $(FUZZERS); do n=$$((n + 1)); echo "ok $$n - fuzz $$h corpus # skip no libFuzzer"; done; \
		exit 0; \
	fi; \
	mkdir -p $(FUZZ_DIR); \
	if ! $(MAKE) --no-print-directory fuzz-build >$(FUZZ_DIR)/build.log 2>&1; then \
		cat $(FUZZ_DIR)/build.log; \
		for h in $(FUZZERS); do n=$$((n + 1)); echo "not ok $$n - fuzz $$h corpus (build failed)"; done; \
		exit 1; \
	fi; \
	for h in $(FUZZERS); do \
		n=$$((n + 1)); dirs=; k=0; \
		for d in fuzz/corpus/$$h fuzz/regress/$$h; do \
			[ -d $$d ] || continue; dirs="$$dirs $$d"; k=$$((k + $$(ls $$d | wc -l))); \
		done; \
		if $(FUZZ_DIR)/fuzz_$$h -runs=0 -timeout=10 -rss_limit_mb=2048 $$dirs >$(FUZZ_DIR)/regress-$$h.log 2>&1; then \
			echo "ok $$n - fuzz $$h corpus ($$k inputs)"; \
		else \
			tail -n 40 $(FUZZ_DIR)/regress-$$h.log; \
			echo "not ok $$n - fuzz $$h corpus ($$k inputs)"; fail=1; \
		fi; \
	done; \
	exit $$fail
