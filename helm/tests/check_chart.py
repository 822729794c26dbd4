#!/usr/bin/env python3
"""Renders helm/zhanqun with a real Helm engine and checks what it promises.

For every values file in helm/zhanqun/ci/ (the combinations the chart's
README documents) and for the defaults with a cluster secret, the chart is
rendered by Helm's own Go SDK (v4, embedded in the `helm-python-sdk` wheel:
no helm binary, no cluster), every object is validated against the
Kubernetes OpenAPI schemas of two versions (`kubernetes-validate`, strict:
unknown fields are errors), and the promises the README makes are asserted:
a headless Service that publishes not-ready addresses, Parallel pod
management, a PodDisruptionBudget of ⌊(n−1)/2⌋, probes that do not need a
quorum to stay alive, a non-root read-only container, the Prometheus
Operator objects only when switched on and then carrying the very alerts of
deploy/prometheus/rules.yml. Values the schema refuses, and combinations the
templates refuse, are tried too: each must fail with a message.

Run: python3 helm/tests/check_chart.py (needs `pip install helm-python-sdk
kubernetes-validate`; .ci/run installs them).
"""

import pathlib
import sys

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "zhanqun"
KUBERNETES = ["1.29.0", "1.37.0"]  # an older cluster a county may run, and the newest
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}  # CRDs: no schema in kubernetes-validate

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def render(values, name="zq"):
    with helm.Chart.load(str(CHART)) as chart:
        chart.validate_schema(values)
        manifests = chart.render(values, name=name, namespace="gov")
    objects = []
    for path, text in sorted(manifests.items()):
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append((path, doc))
    return objects


def by_kind(objects, kind):
    return [o for _, o in objects if o["kind"] == kind]


def one(objects, kind, label=None):
    found = [o for o in by_kind(objects, kind) if label is None or o["metadata"].get("labels", {}).get("zhanqun.io/service") == label]
    check(len(found) == 1, f"expected one {kind}{' ' + label if label else ''}, found {len(found)}")
    return found[0] if found else {}


def promises(case, values, objects):
    replicas = values.get("replicas", 3)
    for path, o in objects:
        if o["kind"] in OPERATOR_KINDS:
            check(o["apiVersion"] == "monitoring.coreos.com/v1", f"{case}: {path}: apiVersion")
            continue
        for version in KUBERNETES:
            try:
                kubernetes_validate.validate(o, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                failures.append(f"{case}: {path} ({o['kind']}) is not valid Kubernetes {version}: {e.message} at {list(e.path)}")

    peers = one(objects, "Service", "peers")
    check(peers.get("spec", {}).get("clusterIP") == "None", f"{case}: the peer Service is not headless")
    check(peers.get("spec", {}).get("publishNotReadyAddresses") is True, f"{case}: the peer Service hides not-ready pods (a joining pod could not be found)")

    sts = one(objects, "StatefulSet")
    spec = sts.get("spec", {})
    check(spec.get("podManagementPolicy") == "Parallel", f"{case}: pods must start in parallel (after a full outage pod 0 needs a quorum)")
    check(spec.get("updateStrategy", {}).get("type") == "RollingUpdate" and "rollingUpdate" not in spec.get("updateStrategy", {}),
          f"{case}: pods must be replaced one at a time, each Ready first (deploy/upgrading.md)")
    check(spec.get("replicas") == replicas, f"{case}: replicas {spec.get('replicas')} != {replicas}")
    pod = spec.get("template", {}).get("spec", {})
    container = pod.get("containers", [{}])[0]
    args = container.get("args", [])
    peer_list = next((a for a in args if a.startswith("--peers=")), "")
    check(len(peer_list.split(",")) == replicas, f"{case}: --peers names {len(peer_list.split(','))} pods, not {replicas}")
    startup, ready, live = (container.get(p, {}) for p in ("startupProbe", "readinessProbe", "livenessProbe"))
    check(startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) >= 600, f"{case}: the startup probe allows less than 10 minutes")
    check(ready.get("httpGet", {}).get("path") == "/readyz", f"{case}: readiness is not /readyz (member and caught up)")
    check(live.get("httpGet", {}).get("path") == "/healthz", f"{case}: liveness must be /healthz, which needs no quorum")
    sc = container.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False, f"{case}: the container's root filesystem is writable")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, f"{case}: the pod may run as root")
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    hard = values.get("antiAffinity") == "hard"
    key = "requiredDuringSchedulingIgnoredDuringExecution" if hard else "preferredDuringSchedulingIgnoredDuringExecution"
    check(key in anti, f"{case}: no {key} anti-affinity")

    pdb = one(objects, "PodDisruptionBudget")
    check(pdb.get("spec", {}).get("maxUnavailable") == (replicas - 1) // 2, f"{case}: PDB allows {pdb.get('spec', {}).get('maxUnavailable')} down, not ⌊(n−1)/2⌋")

    ingress = values.get("ingress", {})
    ingresses = by_kind(objects, "Ingress")
    check(bool(ingresses) == bool(ingress.get("enabled")), f"{case}: Ingress present: {bool(ingresses)}")
    if ingresses:
        hosts = [r["host"] for r in ingresses[0]["spec"]["rules"]]
        wanted = ingress.get("hosts", []) + ([ingress["wildcard"]] if ingress.get("wildcard") else [])
        check(hosts == wanted, f"{case}: Ingress hosts {hosts} != {wanted}")

    metrics = values.get("metrics", {})
    monitors = by_kind(objects, "ServiceMonitor")
    rules = by_kind(objects, "PrometheusRule")
    check(bool(monitors) == metrics.get("serviceMonitor", {}).get("enabled", False), f"{case}: ServiceMonitor present: {bool(monitors)}")
    check(bool(rules) == metrics.get("prometheusRule", {}).get("enabled", False), f"{case}: PrometheusRule present: {bool(rules)}")
    if monitors:
        selector = monitors[0]["spec"]["selector"]["matchLabels"]
        check(all(peers["metadata"]["labels"].get(k) == v for k, v in selector.items()), f"{case}: the ServiceMonitor selects no Service")
    if rules:
        shipped = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules.yml").read_text())
        check(rules[0]["spec"] == shipped, f"{case}: the PrometheusRule's alerts differ from deploy/prometheus/rules.yml")

    backup_to = values.get("backup", {}).get("to", "")
    check((f"--backup-to={backup_to}" in args) == bool(backup_to), f"{case}: --backup-to with backup.to={backup_to!r}")
    restore_from = values.get("restore", {}).get("from", "")
    init = pod.get("initContainers", [])
    check(bool(init) == bool(restore_from), f"{case}: an init container with restore.from={restore_from!r}")
    if init:
        wanted = ["restore", f"--from={restore_from}", "--data=/data", "--if-empty", "--only-pod-zero"]
        check(all(a in init[0].get("args", []) for a in wanted), f"{case}: the restore init container's args {init[0].get('args')} lack one of {wanted}")
        blob_vars = {"ZHANQUN_S3_BUCKET", "AWS_REGION", "ZHANQUN_S3_ENDPOINT", "ZHANQUN_BLOBS_DIR"}
        names = lambda c: {e["name"] for e in c.get("env", [])} & blob_vars
        check(names(init[0]) == names(container) and init[0].get("envFrom") == container.get("envFrom"),
              f"{case}: the restore does not see the attachment store the node uses")
        check({"name": "data", "mountPath": "/data"} in init[0].get("volumeMounts", []), f"{case}: the restore does not mount the data volume")

    tls = values.get("tls", {}).get("enabled", False)
    public = [o for o in by_kind(objects, "Service") if o["metadata"].get("labels", {}).get("zhanqun.io/service") != "peers"]
    port_names = [p["name"] for p in public[0]["spec"]["ports"]] if public else []
    check(("https" in port_names) == tls, f"{case}: https port {port_names} with tls.enabled={tls}")
    check(("--tls-listen=0.0.0.0:8443" in args) == tls, f"{case}: --tls-listen with tls.enabled={tls}")


def leaves(values, prefix=""):
    """Every value's dotted name (a map of resources counts as one)."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "resources":
            yield from leaves(value, name + ".")
        else:
            yield name


def refused(case, values, needle):
    try:
        render(values)
    except helm.HelmError as e:
        check(needle in str(e), f"{case}: refused, but the message does not say {needle!r}: {e}")
        return
    failures.append(f"{case}: rendered, but should have been refused ({needle})")


def main():
    if (CHART / "files" / "rules.yml").read_bytes() != (ROOT / "deploy" / "prometheus" / "rules.yml").read_bytes():
        failures.append("helm/zhanqun/files/rules.yml differs from deploy/prometheus/rules.yml: copy it")
    lint = helm.lint(str(CHART), values={"clusterSecret": {"value": "x" * 24}}, strict=True)
    for m in lint.get("messages", []):
        print(f"helm lint: {m}")
        check(m.get("severity", 0) < 2, f"helm lint: {m}")
    check(not lint.get("errors"), f"helm lint: {lint.get('errors')}")
    cases = {
        "defaults": {"clusterSecret": {"value": "a-cluster-secret-of-the-city-2026"}},
        "one node": {"replicas": 1, "clusterSecret": {"value": "a-cluster-secret-of-the-city-2026"}},
    }
    for path in sorted((CHART / "ci").glob("*-values.yaml")):
        cases[path.name] = yaml.safe_load(path.read_text())
    readme = (CHART / "README.md").read_text()
    for key in leaves(yaml.safe_load((CHART / "values.yaml").read_text())):
        check(f"| `{key}` |" in readme, f"helm/zhanqun/README.md does not list the value {key}")
    for name in cases:
        if name.endswith(".yaml"):
            check(f"ci/{name}" in readme, f"helm/zhanqun/README.md does not document ci/{name}")
    for case, values in cases.items():
        objects = render(values)
        promises(case, values, objects)
        print(f"{case}: {len(objects)} objects, valid for Kubernetes {' and '.join(KUBERNETES)}")
    refused("no cluster secret", {}, "clusterSecret")
    refused("an even number of voters", {"replicas": 4, "clusterSecret": {"value": "x" * 24}}, "replicas")
    refused("an Ingress without hosts", {"clusterSecret": {"value": "x" * 24}, "ingress": {"enabled": True}}, "ingress.hosts")
    refused("a misspelt value", {"clusterSecret": {"value": "x" * 24}, "replica": 3}, "replica")
    if failures:
        print("\n".join(["chart check FAILED:"] + failures), file=sys.stderr)
        sys.exit(1)
    print("chart check: every promise holds")


if __name__ == "__main__":
    main()
