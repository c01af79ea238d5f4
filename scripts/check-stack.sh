#!/usr/bin/env bash
# Checks the local metrics stack (dashboards/compose.yaml and dashboards/stack/) without
# Docker, which these machines do not run:
#   - the compose file against the Compose Specification's JSON schema, with
#     check-jsonschema (`--builtin-schema vendor.compose-spec`: the schema ships inside the
#     PyPI package), installed into a venv under ${XDG_CACHE_HOME:-~/.cache}/starkscope;
#   - Prometheus's configuration with `promtool check config` (Debian's prometheus package,
#     which scripts/install-test-deps.sh installs);
#   - what neither tool sees, with the same venv's YAML parser: every file the compose file
#     mounts exists, the collector's pipelines use only receivers, processors and exporters
#     it defines and listen on the ports compose publishes and Prometheus scrapes, and
#     Grafana's provisioning points at the Prometheus service and the mounted dashboards.
# The OpenTelemetry Collector and Grafana themselves are not run here: their configs are
# checked for these cross-references only. Exits 1 naming the problem.
#
#   bash scripts/check-stack.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_JSONSCHEMA_PIP_SPEC="${CHECK_JSONSCHEMA_PIP_SPEC:-check-jsonschema==0.33.0}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/starkscope/check-jsonschema"

die() { echo "error: $*" >&2; exit 1; }

if [ ! -x "$venv/bin/check-jsonschema" ] || [ "$(cat "$venv/.spec" 2>/dev/null)" != "$CHECK_JSONSCHEMA_PIP_SPEC" ]; then
  echo "installing $CHECK_JSONSCHEMA_PIP_SPEC (PyPI) into $venv" >&2
  py="$(command -v python3 || true)"
  [ -n "$py" ] || die "python3 is missing to install $CHECK_JSONSCHEMA_PIP_SPEC"
  rm -rf "$venv"
  "$py" -m venv "$venv" >&2 || die "cannot create a venv at $venv (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$CHECK_JSONSCHEMA_PIP_SPEC" >&2 \
    || die "pip could not install $CHECK_JSONSCHEMA_PIP_SPEC into $venv"
  printf '%s\n' "$CHECK_JSONSCHEMA_PIP_SPEC" >"$venv/.spec"
fi
command -v promtool >/dev/null 2>&1 \
  || die "promtool is missing: scripts/install-test-deps.sh installs Debian's prometheus package"

fail=0
echo "check-jsonschema ($("$venv/bin/check-jsonschema" --version)), compose-spec schema: dashboards/compose.yaml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec dashboards/compose.yaml || fail=1
echo "promtool ($(promtool --version 2>&1 | head -n 1)): dashboards/stack/prometheus.yml"
promtool check config dashboards/stack/prometheus.yml || fail=1

"$venv/bin/python" - <<'PY' || fail=1
import os
import sys
from ruamel.yaml import YAML

yaml = YAML(typ="safe")
root = "dashboards"
load = lambda p: yaml.load(open(os.path.join(root, p)))
compose = load("compose.yaml")
services = compose["services"]
problems = []

def published(service):
    return {p.rsplit(":", 1)[-1] for p in services[service].get("ports", [])}

# Every bind mount exists; remember where each host path lands.
mounts = {}
for name, svc in services.items():
    for v in svc.get("volumes", []):
        src, dst = v.split(":")[:2]
        if src.startswith("."):
            if not os.path.exists(os.path.join(root, src)):
                problems.append(f"compose: {name} mounts {src}, which does not exist")
            mounts[(name, os.path.normpath(src))] = dst

# The collector: pipelines use only what is defined; OTLP/HTTP on the published port;
# its Prometheus exporter on the port Prometheus scrapes.
col = load("stack/otel-collector.yaml")
for pipeline, p in col["service"]["pipelines"].items():
    for kind in ("receivers", "processors", "exporters"):
        for c in p.get(kind, []):
            if c not in (col.get(kind) or {}):
                problems.append(f"collector: pipeline {pipeline} uses {kind[:-1]} {c}, not defined")
otlp_port = col["receivers"]["otlp"]["protocols"]["http"]["endpoint"].rsplit(":", 1)[-1]
if otlp_port not in published("otel-collector"):
    problems.append(f"collector: OTLP/HTTP on {otlp_port}, compose publishes {published('otel-collector')}")
prom_port = col["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[-1]
if mounts.get(("otel-collector", "stack/otel-collector.yaml")) not in [
    c.split("=", 1)[1] for c in services["otel-collector"]["command"] if c.startswith("--config=")
]:
    problems.append("compose: the collector's --config is not where its config is mounted")

# Prometheus scrapes the services by their names and ports; Grafana reads that Prometheus.
prom = load("stack/prometheus.yml")
targets = {t for j in prom["scrape_configs"] for s in j["static_configs"] for t in s["targets"]}
for want in ("pushgateway:9091", f"otel-collector:{prom_port}", "host.docker.internal:9464"):
    if want not in targets:
        problems.append(f"prometheus: no scrape target {want}")
if not any(j.get("honor_labels") for j in prom["scrape_configs"] if j["job_name"] == "pushgateway"):
    problems.append("prometheus: the pushgateway job needs honor_labels: true")
ds = load("stack/grafana/provisioning/datasources/prometheus.yaml")["datasources"][0]
if ds["url"] != "http://prometheus:9090" or ds["type"] != "prometheus":
    problems.append(f"grafana: data source {ds['url']} is not the stack's Prometheus")
provider = load("stack/grafana/provisioning/dashboards/starkscope.yaml")["providers"][0]
if mounts.get(("grafana", "grafana")) != provider["options"]["path"]:
    problems.append("grafana: the dashboard provider's path is not where dashboards/grafana is mounted")

for p in problems:
    print(f"error: {p}", file=sys.stderr)
if not problems:
    print("ok: mounts exist; collector pipelines, ports, Prometheus targets and Grafana provisioning agree")
sys.exit(1 if problems else 0)
PY

[ "$fail" = 0 ] && echo "ok: the local stack's configs pass the compose schema, promtool and the cross-checks"
exit "$fail"
