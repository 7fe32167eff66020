#!/usr/bin/env bash
# Run by `make python-floor`: every module, run by ansible-core FLOOR_CORE (the oldest the collection claims, which
# still runs modules on Python 2.7 and 3.6 and 3.7) on each Python older than the collection's floor (3.8), must fail
# with exactly one line naming the interpreter, never with a traceback (an ImportError before the fix).
# Usage: check.sh ANSIBLE_BIN_DIR PYTHON...   (ANSIBLE_COLLECTIONS_PATH points at the collection)
set -euo pipefail
bin=$1; shift
declare -A args=(
  [ml_job_info]=''
  [ml_job_state]='job_id=a'
  [ml_datafeed_state]='datafeed_id=a state=stopped'
  [ml_upgrade_mode]='enabled=true'
  [rollup_job_info]=''
  [rollup_job_state]='job_id=a state=stopped'
  [ml_job]='job_id=a config=a=1'
  [rollup_job]='job_id=a config=a=1'
  [privilege_check]='operations=close_job'
  [write_files]='{"files": [{"path": "/nonexistent/x", "content": "x"}]}'
  [backup_info]='{"paths": ["/nonexistent/x.json"]}'
  [ml_calendar]='calendar_id=a'
  [desired_state]='document={"ml_jobs":[{"id":"a","state":"closed"}]}'
  [desired_state_info]=''
  [maintenance_window_record]='{"step": "read", "action": "enter", "state_file": "/nonexistent/x.json"}'
)
# Runs on the controller only (an action plugin; its module file is documentation): no managed-node Python.
controller_only=' fleet_plan '
# Every module of the collection, not a list that falls behind: a module missing here fails the check.
modules_dir=$(dirname "$0")/../../plugins/modules
for path in "$modules_dir"/*.py; do
  name=$(basename "$path" .py)
  [[ $name == _* || $controller_only == *" $name "* ]] && continue
  [[ -n ${args[$name]+set} ]] || { echo "python-floor: plugins/modules/$name.py has no case in $0" >&2; exit 1; }
done
checked=0
for python in "$@"; do
  version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
  for module in "${!args[@]}"; do
    # A case in JSON is a module without connection options; the others get an unreachable host.
    module_args=${args[$module]}
    [[ $module_args == '{'* ]] || module_args="hosts=http://127.0.0.1:9 retries=0 $module_args"
    out=$(ANSIBLE_STDOUT_CALLBACK=json "$bin/ansible" localhost -i localhost, -c local -o \
          -e ansible_python_interpreter="$python" -m "esops.jobs.$module" -a "$module_args" 2>&1 || true)
    want="esops.jobs needs Python 3.8 or later on the managed node, but $python is Python $version: set ansible_python_interpreter to a newer Python"
    if ! grep -qF "\"msg\": \"$want\"" <<<"$out" || grep -q 'Traceback' <<<"$out"; then
      echo "python-floor: esops.jobs.$module on Python $version did not fail with the one-line message:" >&2
      echo "$out" | head -20 >&2
      exit 1
    fi
    checked=$((checked + 1))
  done
  echo "python-floor: Python $version: every module fails with one line"
done
echo "python-floor: $checked passed, 0 failed"
