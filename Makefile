# lvback — build, demo, test, fuzz, bench. `make help` lists the targets.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN ?= bin/lvback
# make man and make deb write here (gitignored); make deb BUILD=/tmp/x
# builds elsewhere, as the packaging test does.
BUILD ?= build
# What `lvback --version` says, stamped at link time (internal/buildinfo).
# The version comes from git and the VERSION file (scripts/version.sh: a
# valid Debian version, e.g. 0.1.0~git20261127.abcdef0); the date is the
# commit's time in UTC, or SOURCE_DATE_EPOCH's when set, so one commit
# builds one identical binary and package.
LVBACK_VERSION ?= $(shell scripts/version.sh)
LVBACK_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LVBACK_DATE ?= $(shell if [ -n "$$SOURCE_DATE_EPOCH" ]; then date -u -d "@$$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ; \
	else TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null; fi)
BUILDINFO := github.com/lvback/lvback/internal/buildinfo
# -s -w leave out the symbol table and DWARF (a third of the binary); panics
# still print file:line from the pclntab.
LDFLAGS = -s -w -X $(BUILDINFO).version=$(LVBACK_VERSION) -X $(BUILDINFO).commit=$(LVBACK_COMMIT) -X $(BUILDINFO).date=$(LVBACK_DATE)
# FUZZTIME is a count of executions, not a duration: Go 1.26's fuzzer may
# fail a target with a bare "context deadline exceeded" when a -fuzztime
# duration ends while a worker is mid-call (go.dev/issue/75804, fixed in
# Go 1.27); a count sets no deadline. 50000x takes 2-10 s per target here.
FUZZTIME ?= 50000x
# staticcheck 2026.2.2, a release for Go 1.26; `make staticcheck` installs it
# into $(go env GOPATH)/bin when that holds no binary of this version, so a
# later run on the same machine finds it there.
STATICCHECK_VERSION := 0.8.2
STATICCHECK = $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: help build man deb demo deps weed restic check staticcheck test test-go test-btrfs fuzz-short fuzz bench bench-btrfs bench-s3 clean

help: ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build bin/lvback, static (CGO_ENABLED=0: no libc dependency), stamped with version, commit and date
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/lvback

man: build ## man pages (lvback.8, lvback-COMMAND.8) into $(BUILD)/man and bash/zsh/fish completions into $(BUILD)/completions, generated from the command tree
	rm -rf $(BUILD)/man $(BUILD)/completions
	$(BIN) gen-docs --man $(BUILD)/man --completions $(BUILD)/completions

deb: man ## the Debian package $(BUILD)/lvback_VERSION_ARCH.deb (scripts/build-deb.sh; needs dpkg-deb)
	scripts/build-deb.sh $(BIN) $(BUILD) $(LVBACK_VERSION)

demo: build ## back up a generated demo directory twice; the second run links
	scripts/demo.sh $(BIN)

deps: ## install the Debian packages the tests use (needs root; skipped when present)
	scripts/deps.sh

weed: ## build the SeaweedFS server the S3 tests run against into $LVBACK_CACHE (default /var/cache/lvback-ci; ~10 min cold, once per machine); without it those tests skip
	GO="$(GO)" scripts/build-weed.sh

restic: ## build restic 0.18.1, the peer of bench-s3, into $LVBACK_CACHE (default /var/cache/lvback-ci; ~2.5 min, once per machine)
	GO="$(GO)" scripts/build-restic.sh

check: ## the fast tier (about 1.5 min on 2 cores): vet, staticcheck and the tests with -short, which skip the crash matrix, the scale-shaped and the slow full-disk tests
	$(GO) vet ./...
	$(MAKE) --no-print-directory staticcheck
	$(GO) test -short -count=1 -timeout 10m ./...

staticcheck: ## run staticcheck (installed from the Go module proxy when missing)
	@"$(STATICCHECK)" -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION))' || \
		{ echo "installing staticcheck v$(STATICCHECK_VERSION)"; GOBIN="$(dir $(STATICCHECK))" $(GO) install honnef.co/go/tools/cmd/staticcheck@v$(STATICCHECK_VERSION); }
	"$(STATICCHECK)" ./...

test: deps ## every test: gofmt, vet, staticcheck, short fuzz runs of each parser, the whole suite (as root with a SeaweedFS built for the S3 tests), then real LVM in a VM (root)
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) --no-print-directory weed; \
	else echo "SKIP make weed: the S3 tests skip without SeaweedFS (run make weed, or make test as root)"; fi
	$(GO) vet ./...
	$(MAKE) --no-print-directory staticcheck
	$(MAKE) --no-print-directory fuzz-short
	$(GO) test -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory test-btrfs
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) --no-print-directory test-vm; \
	else echo "SKIP test-vm: booting the real-LVM VM needs root to install qemu and lvm2 (run make test-vm as root)"; fi

fuzz-short: ## run every fuzz target for FUZZTIME executions (50000x, 2-10 s each)
	$(GO) test -run='^$$' -fuzz='^FuzzReader$$' -fuzztime=$(FUZZTIME) ./manifest
	$(GO) test -run='^$$' -fuzz='^FuzzRecords$$' -fuzztime=$(FUZZTIME) ./manifest
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./config
	$(GO) test -run='^$$' -fuzz='^FuzzParseReport$$' -fuzztime=$(FUZZTIME) ./lvm
	$(GO) test -run='^$$' -fuzz='^FuzzParseThinDelta$$' -fuzztime=$(FUZZTIME) ./lvm
	$(GO) test -run='^$$' -fuzz='^FuzzIndex$$' -fuzztime=$(FUZZTIME) ./blockdiff
	$(GO) test -run='^$$' -fuzz='^FuzzPattern$$' -fuzztime=$(FUZZTIME) ./exclude
	$(GO) test -run='^$$' -fuzz='^FuzzOpenObject$$' -fuzztime=$(FUZZTIME) ./objstore/crypt
	$(GO) test -run='^$$' -fuzz='^FuzzOpenName$$' -fuzztime=$(FUZZTIME) ./objstore/crypt
	$(GO) test -run='^$$' -fuzz='^FuzzParseURL$$' -fuzztime=$(FUZZTIME) ./objstore/s3

.PHONY: test-scale
test-scale: ## back up, change 1%, back up, verify and prune a generated 1,000,000-file tree; prints wall time and peak RSS (< 300 MB) of each (~10 min, not part of make test)
	LVBACK_SCALE=1 $(GO) test -count=1 -timeout 60m -v ./test/scale

.PHONY: test-vm
test-btrfs: ## the engine, cmd and mount suites again on a btrfs loop mount, where repositories get the subvolume layout (root)
	GO="$(GO)" scripts/test-btrfs.sh

test-vm: ## boot a qemu VM with real LVM and run test/vm's scenarios (root installs the packages; see test/vm/deps.sh)
	LVBACK_VM=1 $(GO) test -count=1 -timeout 35m -v ./test/vm

BENCHFLAGS ?=
bench: ## lvback vs rsync, cp and dd on generated data, table + bench/results/*.json (~10 min; root for loop mounts and block mode; BENCHFLAGS="-files 2000 -image-mib 64 -reps 1" for a quick look)
	$(GO) run ./bench $(BENCHFLAGS)

bench-btrfs: ## issue 16 on a btrfs loop mount: lvback's subvolume and hardlink layouts vs rsync --link-dest on 100,000 files of 1-4 KiB in 8,000 dirs (root; a few minutes)
	$(GO) run ./bench -fs btrfs -files 100000 -dirs 8000 -min-kib 1 -max-kib 4 -bigfiles 0 -real none -cases full,incr,nochange,prune -reps 1 $(BENCHFLAGS)

bench-s3: weed restic ## block backups of a 1 GiB image to a local repository, to an s3: repository on a SeaweedFS the bench starts on loopback, and restic 0.18 to the same server: first and 1% changed (root; ~10 min with 3 reps; BENCHFLAGS="-image-mib 64 -reps 1" for a quick look)
	@if [ "$$(id -u)" -ne 0 ]; then echo "bench-s3 needs root: the image is made and filled through a loop mount"; exit 1; fi
	$(GO) run ./bench -cases s3first,s3incr -real none $(BENCHFLAGS)

clean:
	rm -rf bin $(BUILD)
