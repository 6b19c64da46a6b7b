#!/usr/bin/env bash
# The interop reference install (npm run interop:setup): real peers for test/interop/, installed
# into .interop/ (git-ignored) with the ordinary clients only. Idempotent: what is already
# there at the right version is kept, so a second run takes seconds.
#
#   .interop/py-<ver>/        Python venv with receptorctl <ver> (1.4.9 and the newest on PyPI)
#   .interop/py/              Python venv with the newest receptorctl, ansible-runner, ansible-core
#   .interop/go/<ver>/receptor  Go receptor built from the Go module proxy, when the proxy serves it
#   .interop/manifest.json    what is installed, read by the interop tests
#   fish and zsh (Debian packages, when root) for the shell-completion tests
#
# Go receptor binaries you already have (a distro package, a build of your own) can be named
# with RECEPTOR_INTEROP_GO="label=/path/to/receptor[,label=/path]": they are recorded in the
# manifest and tested like the ones installed here.
#
# Nothing here is fatal to CI: what cannot be installed is recorded with the reason, and the
# tests that need it skip with one printed line that says why.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/.interop
mkdir -p "$DIR/go"
GO_VERSIONS=(v1.4.9)
RECEPTORCTL_OLD=1.4.9

say() { printf 'interop-setup: %s\n' "$*" >&2; }
json_str() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1" 2>/dev/null || printf '"%s"' "$1"; }

# ---------- Python: receptorctl (two versions), ansible-runner, ansible-core ----------
PY=${PYTHON:-python3}
venv() { # venv DIR PKG...   (creates DIR when missing, installs the pinned packages when absent)
  local d=$1; shift
  if [ ! -x "$d/bin/python" ]; then
    "$PY" -m venv "$d" || { say "python venv $d failed"; return 1; }
  fi
  if "$d/bin/python" -m pip show -q "${@%%[=<>]*}" >/dev/null 2>&1 && [ -f "$d/.ok" ] && [ "$(cat "$d/.ok")" = "$*" ]; then
    return 0
  fi
  "$d/bin/python" -m pip install -q --disable-pip-version-check "$@" || { say "pip install $* into $d failed"; return 1; }
  echo "$*" > "$d/.ok"
}

PY_OK=1
if ! command -v "$PY" >/dev/null; then
  say "no $PY on PATH: receptorctl and ansible-runner are not installed"
  PY_OK=0
fi
RCTL_NEW=""
if [ $PY_OK = 1 ]; then
  # The newest receptorctl, resolved once and kept (a later run does not chase new releases).
  if [ -f "$DIR/py/.ok" ]; then
    RCTL_NEW=$(sed -n 's/.*receptorctl==\([^ ]*\).*/\1/p' "$DIR/py/.ok")
  fi
  if [ -z "$RCTL_NEW" ]; then
    RCTL_NEW=$("$PY" -m pip index versions receptorctl 2>/dev/null | sed -n 's/^receptorctl (\(.*\))$/\1/p')
  fi
  [ -z "$RCTL_NEW" ] && RCTL_NEW=1.6.9
  venv "$DIR/py" "receptorctl==$RCTL_NEW" "ansible-runner" "ansible-core" || PY_OK=0
  venv "$DIR/py-$RECEPTORCTL_OLD" "receptorctl==$RECEPTORCTL_OLD" || true
fi

# ---------- Go receptor from the Go module proxy ----------
# `go install …@v1.4.9` refuses a module whose go.mod has a replace directive, so the module
# is downloaded and built as its own main module.
go_entries=()
build_go() { # build_go VERSION
  local v=$1 out=$DIR/go/$1
  if [ -x "$out/receptor" ]; then go_entries+=("{\"label\":\"$v\",\"bin\":$(json_str "$out/receptor")}"); return; fi
  if ! command -v go >/dev/null; then
    go_entries+=("{\"label\":\"$v\",\"unavailable\":\"go is not on PATH\"}"); return
  fi
  local info modDir err
  info=$(go mod download -json "github.com/ansible/receptor@$v" 2>&1)
  modDir=$(printf '%s' "$info" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  if [ -z "$modDir" ]; then
    # The proxy's answer without the request's URL, e.g. "403 Forbidden".
    err=$(printf '%s' "$info" | sed -n 's/^\t"Error": "\(.*\)"$/\1/p' | sed 's/\\n.*//; s/.*: //')
    [ -z "$err" ] && err=$(printf '%s' "$info" | head -1)
    say "Go receptor $v: the Go module proxy did not serve it: $err"
    go_entries+=("{\"label\":\"$v\",\"unavailable\":$(json_str "the Go module proxy did not serve github.com/ansible/receptor@$v: $err")}")
    return
  fi
  mkdir -p "$out"
  # The version is stamped as Go's Makefile does (receptorctl compares it with its own).
  if GOFLAGS=-modcacherw go build -C "$modDir" -ldflags "-X 'github.com/ansible/receptor/internal/version.Version=${v#v}'" \
      -o "$out/receptor" ./cmd/receptor-cl 2>"$out/build.log"; then
    go_entries+=("{\"label\":\"$v\",\"bin\":$(json_str "$out/receptor")}")
  else
    say "Go receptor $v: build failed (see $out/build.log)"
    go_entries+=("{\"label\":\"$v\",\"unavailable\":\"go build failed, see $out/build.log\"}")
  fi
}
for v in "${GO_VERSIONS[@]}"; do build_go "$v"; done
# The newest v1 release the proxy lists.
newest=$(go list -m -versions github.com/ansible/receptor 2>/dev/null | tr ' ' '\n' | grep -E '^v1\.[0-9]+\.[0-9]+$' | sort -V | tail -1)
if [ -n "$newest" ] && [ "$newest" != v1.4.9 ]; then build_go "$newest"; fi
if [ -z "$newest" ]; then
  go_entries+=("{\"label\":\"newest v1\",\"unavailable\":\"the Go module proxy lists no versions of github.com/ansible/receptor\"}")
fi
# Binaries named by the user.
IFS=',' read -r -a extra <<< "${RECEPTOR_INTEROP_GO:-}"
for e in "${extra[@]}"; do
  [ -z "$e" ] && continue
  label=${e%%=*}; bin=${e#*=}
  if [ -x "$bin" ]; then go_entries+=("{\"label\":$(json_str "$label"),\"bin\":$(json_str "$bin")}")
  else say "RECEPTOR_INTEROP_GO: $bin is not an executable file"; fi
done

# ---------- shells for the completion tests (fish, zsh), from Debian's packages ----------
# test/e2e/cli-conventions.test.ts runs the generated completion scripts in real shells; where
# a shell is missing (not root, no apt-get, no network) those checks skip with a printed line.
if ! command -v fish >/dev/null 2>&1 || ! command -v zsh >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing fish and zsh (completion tests)"
    { apt-get install -y -qq fish zsh >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fish zsh >/dev/null 2>&1; }; } \
      || say "fish/zsh could not be installed: their completion checks will skip"
  else
    say "fish/zsh missing and apt-get not usable: their completion checks will skip"
  fi
fi

# ---------- manifest ----------
{
  printf '{\n  "go": [%s],\n' "$(IFS=,; echo "${go_entries[*]}")"
  if [ $PY_OK = 1 ]; then
    printf '  "receptorctl": [{"version":"%s","bin":%s},{"version":"%s","bin":%s}],\n' \
      "$RECEPTORCTL_OLD" "$(json_str "$DIR/py-$RECEPTORCTL_OLD/bin/receptorctl")" "$RCTL_NEW" "$(json_str "$DIR/py/bin/receptorctl")"
    printf '  "python": %s,\n' "$(json_str "$DIR/py/bin/python")"
    printf '  "ansibleRunner": %s\n' "$(json_str "$DIR/py/bin/ansible-runner")"
  else
    printf '  "receptorctl": [],\n  "python": null,\n  "ansibleRunner": null\n'
  fi
  printf '}\n'
} > "$DIR/manifest.json.tmp" && mv "$DIR/manifest.json.tmp" "$DIR/manifest.json"

# ---------- report ----------
echo "interop reference install in $DIR:"
if [ $PY_OK = 1 ]; then
  for d in "$DIR/py-$RECEPTORCTL_OLD" "$DIR/py"; do
    [ -x "$d/bin/python" ] && "$d/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -iE '^(receptorctl|ansible-runner|ansible-core) ' | sed "s|^|  $(basename "$d"): |"
  done
fi
for e in "${go_entries[@]}"; do echo "  go: $e"; done
exit 0
