#!/usr/bin/env bash
# The Debian package end to end (ctest label `package`): cpack builds pbtnas_VERSION_ARCH.deb from
# the build folder, `apt-get install ./pbtnas_*.deb` installs it with its dependencies, the smoke
# search runs from the installed files only (/usr/bin/pbtnas, /usr/share/pbtnas/jobs/...) in a
# folder without build/ or jobs/, and `apt-get remove` takes it away again.
# Usage: deb_install.sh BUILD_DIR SOURCE_DIR
# Needs root, apt-get and dpkg-shlibdeps (else SKIPPED, exit 77). It installs into /usr: a pbtnas
# package that was installed before the test is never touched (skipped), one run at a time holds
# /run/lock/pbtnas-package-test.lock, and the other tests are unaffected (they run their build
# folder's executable, and the templates use `pbtnas` on PATH only where build/pbtnas is absent).
set -euo pipefail
BUILD=$1
SRC=$2
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || skip "installing a .deb needs root"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || skip "no apt-get / dpkg-deb (not a Debian system)"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps is missing (apt install dpkg-dev; jobs/setup.sh)"
[[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] \
  || skip "/usr/share/datasets/fashion-mnist is absent (install dataset-fashion-mnist)"
[[ -x $BUILD/pbtnas && -f $BUILD/CPackConfig.cmake ]] || fail "$BUILD has no pbtnas or CPackConfig.cmake; build first"
mkdir -p /run/lock
exec 9>/run/lock/pbtnas-package-test.lock
flock 9
if dpkg-query -W -f='${Status}' pbtnas 2>/dev/null | grep -q "ok installed"; then
  skip "a pbtnas package is installed already; this test would replace and remove it (apt-get remove pbtnas first)"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pbtnas-package.XXXXXX")
installed=0
cleanup() {
  if ((installed)); then
    apt-get remove -y -q -o DPkg::Lock::Timeout=600 pbtnas >"$WORK/remove.log" 2>&1 || cat "$WORK/remove.log"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 \
  || { cat "$WORK/cpack.log"; fail "cpack failed"; }
debs=("$WORK"/pkg/pbtnas_*.deb)
[[ -f ${debs[0]} ]] || { cat "$WORK/cpack.log"; fail "cpack made no pbtnas_*.deb"; }
deb=${debs[0]}
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb -f "$deb" Depends
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/pbtnas ./usr/share/pbtnas/jobs/configs/smoke_classify.yaml ./usr/share/pbtnas/jobs/launch_local.sh \
         ./usr/share/pbtnas/jobs/slurm/cpu.sbatch ./usr/share/pbtnas/jobs/tools/pbtnas_h5.py ./usr/share/doc/pbtnas/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done

installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$deb" \
  >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "apt-get install $deb failed"; }
[[ -x /usr/bin/pbtnas ]] || fail "/usr/bin/pbtnas is missing after the install"
/usr/bin/pbtnas --version

# The smoke search from the installed files only: a folder without build/ or jobs/.
mkdir "$WORK/run"
cd "$WORK/run"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 PBTNAS_PROGRESS=lines
set +e
timeout 600 bash /usr/share/pbtnas/jobs/launch_local.sh /usr/share/pbtnas/jobs/configs/smoke_classify.yaml out >run.log 2>&1
rc=$?
set -e
[[ $rc -eq 0 ]] || { cat run.log; fail "the smoke search from the installed package exited $rc"; }
grep -q "^done: best member" run.log || { cat run.log; fail "no final summary line"; }
[[ -f out/summary.json ]] || fail "no out/summary.json"
/usr/bin/pbtnas report out >report.log 2>&1 || { cat report.log; fail "pbtnas report failed on the run"; }
echo "ok: the installed package ran the smoke search: $(grep '^done: best member' run.log)"

apt-get remove -y -q -o DPkg::Lock::Timeout=600 pbtnas >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log"; fail "apt-get remove failed"; }
installed=0
[[ ! -e /usr/bin/pbtnas && ! -e /usr/share/pbtnas ]] || fail "files left after apt-get remove"
echo "ok: removed cleanly"
