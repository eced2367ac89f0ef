#!/bin/bash
# The Debian package: built by cpack in a scratch directory, it is named
# deptrace, has the project's version, depends on the package that
# provides the libbcc deptrace links, holds the binary and the man page,
# and, unpacked into a scratch root, runs. No root needed; nothing left.
# Usage: deb.sh CPACK BUILD_DIR VERSION
set -euo pipefail
cpack=$1 build=$2 version=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

scratch=$(mktemp -d /tmp/deptrace-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/out" > "$scratch/cpack.log" 2>&1 ||
	fail "cpack -G DEB failed: $(tail -5 "$scratch/cpack.log")"
debs=("$scratch"/out/deptrace_*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "cpack made no single deptrace_*.deb: $(ls "$scratch/out")"
deb=${debs[0]}
pass "cpack -G DEB made $(basename "$deb")"

[[ $(dpkg-deb -f "$deb" Package) == deptrace ]] || fail "Package: $(dpkg-deb -f "$deb" Package)"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version: $(dpkg-deb -f "$deb" Version), not $version"
depends=$(dpkg-deb -f "$deb" Depends)
# the libbcc runtime: whichever package holds the library deptrace links
soname=$(readelf -d "$build/deptrace" | sed -n 's/.*(NEEDED).*\[\(libbcc\.so[^]]*\)\].*/\1/p')
[[ -n $soname ]] || fail "deptrace does not link libbcc?"
runtime=$(dpkg-query -S "*/$soname" | sed -n 's/^\([^:, ]*\)\(:[^:]*\)\?: .*/\1/p' | sort -u)
[[ -n $runtime ]] || fail "no installed package holds $soname"
for pkg in $runtime; do
	[[ ", $depends," =~ [,\ ]$pkg[\ ,] ]] || fail "Depends ($depends) lacks $pkg, which holds $soname"
done
pass "deptrace $version, Depends: $depends (names $runtime, which holds $soname)"

dpkg-deb -c "$deb" | awk '{ print $NF }' > "$scratch/contents"
for path in ./usr/sbin/deptrace ./usr/share/man/man8/deptrace.8.gz; do
	grep -qx -- "$path" "$scratch/contents" || fail "the package lacks $path: $(cat "$scratch/contents")"
done
pass "holds /usr/sbin/deptrace and /usr/share/man/man8/deptrace.8.gz"

dpkg-deb -x "$deb" "$scratch/root"
got=$("$scratch/root/usr/sbin/deptrace" --version) || fail "the unpacked deptrace --version exited $?"
[[ $got == "deptrace $version" ]] || fail "the unpacked deptrace --version said '$got'"
"$scratch/root/usr/sbin/deptrace" --help > "$scratch/help" || fail "the unpacked deptrace --help exited $?"
grep -q '^Usage: deptrace' "$scratch/help" || fail "the unpacked deptrace --help: $(head -3 "$scratch/help")"
zcat "$scratch/root/usr/share/man/man8/deptrace.8.gz" | cmp -s - "$build/deptrace.8" ||
	fail "the packaged man page is not the build's deptrace.8"
MANWIDTH=80 LC_ALL=C man -l "$scratch/root/usr/share/man/man8/deptrace.8.gz" > "$scratch/man" 2>&1 ||
	fail "man -l on the packaged page failed: $(cat "$scratch/man")"
grep -q '^ *deptrace - show, and stop' "$scratch/man" || fail "the packaged page has no NAME line"
pass "unpacked: deptrace --version, --help and man -l deptrace.8.gz work"
