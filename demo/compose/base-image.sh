#!/bin/sh
# SPDX-License-Identifier: MIT
# base-image.sh -- makes the local Debian bookworm image that the compose
# images build on when no image registry is reachable: a minbase root
# filesystem made with debootstrap, holding the packages the Dockerfile's
# stages install, imported into the Docker engine.
#
#   demo/compose/base-image.sh [TAG]      (as root; `make docker-base-image`)
#
# TAG defaults to clusterip-bookworm:offline; then
#   CLUSTERIP_BASE_IMAGE=TAG docker-compose up --build
# builds without a registry. The root filesystem is cached as a tarball in
# $CLUSTERIP_CACHE (default /var/cache/clusterip-test), keyed by the
# package list and the mirror ($CLUSTERIP_DEBIAN_MIRROR, default
# http://deb.debian.org/debian), so only the first run needs the mirror.
# An image already present under TAG is left as it is when it holds every
# package below, else made again (the list grows: an older image would
# send the Dockerfile to the mirror). Exits 0 once the image exists, 1
# (reason on stderr) otherwise.
set -u

TAG=${1:-clusterip-bookworm:offline}
CACHE=${CLUSTERIP_CACHE:-/var/cache/clusterip-test}
MIRROR=${CLUSTERIP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER=${DOCKER:-docker}
# The build and runtime packages of demo/compose/Dockerfile.
PKGS=gcc,libc6-dev,make,autoconf,automake,pkgconf,libevent-dev,libldns-dev,libc-ares-dev,libyaml-dev,libjansson-dev,libcmocka-dev,libcurl4-openssl-dev,libcap-dev,libssl-dev,libssl3,libnftables-dev,libnftnl-dev,libmnl-dev,libnetfilter-conntrack-dev,libevent-2.1-7,libevent-core-2.1-7,libevent-extra-2.1-7,libldns3,libc-ares2,libyaml-0-2,libjansson4,libcurl4,libcap2,libnftables1,libnftnl11,libmnl0,libnetfilter-conntrack3,curl

die() {
	echo "base-image.sh: $*" >&2
	exit 1
}

if $DOCKER image inspect "$TAG" > /dev/null 2>&1; then
	if $DOCKER run --rm --network none --entrypoint dpkg "$TAG" \
	    -s $(echo "$PKGS" | tr , ' ') > /dev/null 2>&1; then
		echo "base image $TAG already present"
		exit 0
	fi
	echo "base image $TAG lacks packages of the list: making it again"
fi
$DOCKER info > /dev/null 2>&1 || die "no Docker engine answers"
tarball=$CACHE/bookworm-$(echo "$PKGS $MIRROR" | sha256sum | cut -c1-12).tar
if [ ! -s "$tarball" ]; then
	[ "$(id -u)" = 0 ] || die "debootstrap needs root"
	command -v debootstrap > /dev/null ||
	    die "debootstrap is missing (apt-get install debootstrap)"
	mkdir -p "$CACHE" || die "cannot create $CACHE"
	work=$(mktemp -d "${TMPDIR:-/tmp}/base-image.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	echo "debootstrap bookworm from $MIRROR (cached in $tarball)"
	if ! timeout 600 debootstrap --variant=minbase --include="$PKGS" \
	    bookworm "$work/rootfs" "$MIRROR" > "$work/debootstrap.log" 2>&1
	then
		tail -n 20 "$work/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb
	tar -C "$work/rootfs" -cf "$tarball.tmp" . &&
	    mv "$tarball.tmp" "$tarball" || die "cannot write $tarball"
fi
$DOCKER import "$tarball" "$TAG" > /dev/null || die "docker import failed"
echo "base image $TAG imported from $tarball"
