# SPDX-License-Identifier: BSD-2-Clause
# mk/version.mk — the release number (the file VERSION, MAJOR.MINOR.PATCH)
# and the names of the shared library it gives, for Makefile and
# mk/build.mk. A program links against the soname libkmem.so.MAJOR: MAJOR
# changes when a program built against an earlier release may no longer
# run on this one.
VERSION := $(shell cat VERSION)
ifneq ($(words $(subst ., ,$(VERSION))),3)
  $(error VERSION must hold MAJOR.MINOR.PATCH (e.g. 0.1.0), not "$(VERSION)")
endif
SO_MAJOR := $(firstword $(subst ., ,$(VERSION)))
SO_FILE  := libkmem.so.$(VERSION)
SO_NAME  := libkmem.so.$(SO_MAJOR)
