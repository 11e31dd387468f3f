# SPDX-License-Identifier: GPL-2.0-only
#
# dm-metro: top-level build.  `make` builds dm-metro/dm-metro.ko and
# userspace/metroctl; `make deps` installs what building and testing need;
# `make check` runs every test suite; `make demo` shows a volume surviving a
# leg failure in the test VM; `make bench` runs the benchmark suite in the test
# VM (tests/bench/run.sh; not part of `make check`).

# The running kernel's build tree, else the newest installed Debian headers.
KVER ?= $(shell uname -r)
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))

export KDIR

.PHONY: all module metroctl check check-unit check-vm deps demo bench clean install

all: module metroctl

module:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { echo "No kernel build tree found: install linux-headers-amd64 (make deps) or pass KDIR=..." >&2; exit 1; }
	./dm-metro/probe-compat.sh "$(KDIR)" dm-metro/compat.h
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules

metroctl:
	$(MAKE) -C userspace

deps:
	./tests/deps.sh

check: all
	./tests/run-all.sh

check-unit: metroctl
	./tests/run-all.sh --unit-only

check-vm: all
	./tests/run-all.sh --vm-only

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
