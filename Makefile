# SPDX-License-Identifier: GPL-2.0-only
#
# dm-metro: top-level build.  `make` builds dm-metro/dm-metro.ko and
# userspace/metroctl; `make deps` installs what building and testing need;
# `make check` runs every test suite (`make check-debug` the VM suite on a
# debug kernel); `make demo` shows a volume surviving a leg failure in the
# test VM; `make bench` runs the benchmark suite in the test VM
# (tests/bench/run.sh; not part of `make check`); `make deb` builds the
# Debian packages dm-metro-dkms and dm-metro-tools into build/deb/

# The running kernel's build tree, else the newest installed Debian headers.
KVER ?= $(shell uname -r)
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))

export KDIR

.PHONY: all module metroctl tools deb check check-unit check-vm check-debug fuzz deps demo bench clean install

all: module metroctl

module:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { echo "No kernel build tree found: install linux-headers-amd64 (make deps) or pass KDIR=..." >&2; exit 1; }
	./dm-metro/probe-compat.sh "$(KDIR)" dm-metro/compat.h
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules

metroctl:
	$(MAKE) -C userspace

# Test tools the VM cases run in the guest (tests/tools/dm_hostile).
tools:
	$(MAKE) -C tests/tools

deps:
	./tests/deps.sh

# The Debian packages, from a copy of the tracked files (as they are in the
# work tree) in build/deb/src, so that build products of the checkout stay
# out of the source package; lintian checks them.
deb:
	./debian/build-deb.sh

# Each libFuzzer target for FUZZ_SECONDS (make check runs a 10 s pass).
FUZZ_SECONDS ?= 120
fuzz:
	$(MAKE) -C tests/fuzz regress run SECONDS=$(FUZZ_SECONDS)

check: all tools
	./tests/run-all.sh

check-unit: metroctl
	./tests/run-all.sh --unit-only

check-vm: all tools
	./tests/run-all.sh --vm-only

# The VM suite (or CASES="a b") on a KASAN/lockdep/kmemleak/fault-injection
# kernel built from linux-source-6.1 (cached in build/debug-kernel/).
check-debug: metroctl tools
	./tests/run-all.sh --debug-kernel $(CASES)

demo: all
	./tests/vm/demo.sh

bench: all
	./tests/bench/run.sh

install: all
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules_install
	$(MAKE) -C userspace install

clean:
	-$(MAKE) -C "$(KDIR)" M="$(CURDIR)" clean
	$(MAKE) -C userspace clean
	rm -f dm-metro/compat.h
