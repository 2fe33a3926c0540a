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
	rm -rf $(DEB_SRC) && mkdir -p $(DEB_SRC)
	cd $(DEB_FROM) && git ls-files -z --cached --others --exclude-standard \
	  | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C $(DEB_SRC)
	if [ -f $(DEB_FROM)/Package.resolved ]; then cp -p $(DEB_FROM)/Package.resolved $(DEB_SRC)/; fi
	cp -a packaging/. $(DEB_SRC)/packaging/
	cp -a packaging/debian $(DEB_SRC)/debian
	if [ -n "$(DEB_VERSION)" ]; then \
	  { printf 'rssppd (%s) unstable; urgency=medium\n\n  * Rebuild of the same tree with version %s.\n\n -- %s  %s\n\n' \
	      "$(DEB_VERSION)" "$(DEB_VERSION)" "$$(dpkg-parsechangelog -l packaging/debian/changelog -S Maintainer)" \
	      "$$(date -R)"; cat packaging/debian/changelog; } > $(DEB_SRC)/debian/changelog; \
	fi
	rm -f $(DEB_DIR)/rssppd_*.deb $(DEB_DIR)/rssppd-dbgsym_*.deb
	cd $(DEB_SRC) && SWIFT_SCRATCH=$(DEB_DIR)/swift dpkg-buildpackage -us -uc -b
	ls -l $(DEB_DIR)/rssppd_*.deb

.PHONY: deb
