# Sourced first by scripts/setup.sh, scripts/dashboard.sh and scripts/test.sh, which set $self (their own real path,
# found through any symbolic link) before. Plain POSIX sh, so that it runs under any shell:
# - started with sh (Debian's dash) or zsh, a script failed at once ("set: Illegal option -o pipefail", and bash's
#   arrays and [[ ]] further down): it runs itself again with bash;
# - then bash's strict mode, and the project folder (the one above the scripts') as the current folder, so that a
#   symbolic link to a script (ln -s /path/to/project/scripts/dashboard.sh ~/bin/iomt) works on the project, not
#   on the folder above ~/bin.
if [ -z "${BASH_VERSION:-}" ]; then
  if command -v bash >/dev/null 2>&1 && [ -f "$self" ]; then
    echo "note: $self is a bash script; it was started with another shell (sh?), so it runs itself with bash" >&2
    exec bash "$self" "$@"
  fi
  echo "error: $self needs bash (not found on this machine): install bash, then run  bash $self" >&2
  exit 2
fi
set -euo pipefail
cd "$(dirname -- "$self")/.."
