# rssppd: `make deb` builds the Debian package (see packaging/README.md).
#
# The package is built in a private copy of the tree, .build-deb/src, with packaging/debian
# copied to debian/ at its top, so the repository keeps debian/ under packaging/. The Swift
# scratch directory, .build-deb/swift, survives between runs: a second `make deb` (say, with
# DEB_VERSION set for an upgrade test) only relinks. Output: .build-deb/rssppd_*.deb.
#
#   make deb                          # version from packaging/debian/changelog
#   make deb DEB_VERSION=0.1.0-1+t1   # same tree, a changelog entry with this version on top
#   make deb DEB_FROM=../other-clone  # package another checkout's sources (its tracked and
#                                     # untracked, not ignored, files) with this packaging/

DEB_DIR  ?= $(CURDIR)/.build-deb
DEB_SRC  := $(DEB_DIR)/src
DEB_VERSION ?=
DEB_FROM ?= $(CURDIR)

deb:
	mkdir -p $(DEB_SRC)
	# Copy the checkout in place: unchanged files keep their inode and mtime, which is what
	# SwiftPM's build database compares, so only what changed is rebuilt.
	cd $(DEB_FROM) && { git ls-files -z --cached --others --exclude-standard; \
	  [ ! -f Package.resolved ] || printf 'Package.resolved\0'; } | LC_ALL=C sort -zu > $(DEB_DIR)/files.lst
	cd $(DEB_FROM) && tar --null --files-from=$(DEB_DIR)/files.lst --ignore-failed-read -cf - 2>/dev/null \
	  | tar -x --overwrite -f - -C $(DEB_SRC)
	# Drop files the checkout no longer has (bpf/.output and debian/ are rebuilt below).
	cd $(DEB_SRC) && find . -path ./debian -prune -o -path ./bpf/.output -prune -o -type f -print0 \
	  | sed -z 's|^\./||' | LC_ALL=C sort -z | LC_ALL=C comm -z -23 - $(DEB_DIR)/files.lst | xargs -0r rm -f
	cp -a packaging/. $(DEB_SRC)/packaging/
	rm -rf $(DEB_SRC)/debian
	cp -a packaging/debian $(DEB_SRC)/debian
	if [ -n "$(DEB_VERSION)" ]; then \
	  { printf 'rssppd (%s) unstable; urgency=medium\n\n  * Rebuild of the same tree with version %s.\n\n -- %s  %s\n\n' \
	      "$(DEB_VERSION)" "$(DEB_VERSION)" "$$(dpkg-parsechangelog -l packaging/debian/changelog -S Maintainer)" \
	      "$$(date -R)"; cat packaging/debian/changelog; } > $(DEB_SRC)/debian/changelog; \
	fi
	rm -f $(DEB_DIR)/rssppd_*.deb $(DEB_DIR)/rssppd-dbgsym_*.deb
	cd $(DEB_SRC) && SWIFT_SCRATCH=$(DEB_DIR)/swift dpkg-buildpackage -us -uc -b --no-pre-clean
	ls -l $(DEB_DIR)/rssppd_*.deb

.PHONY: deb
