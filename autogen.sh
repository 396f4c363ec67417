#!/bin/sh
# SPDX-License-Identifier: MIT
# autogen.sh -- regenerate the autotools build files.
exec autoreconf --force --install --verbose "$@"
