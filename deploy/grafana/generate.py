#!/usr/bin/env python3
"""Writes zhanqun's Grafana dashboards (one JSON file each) from the panel
lists below, so that every dashboard has the same shape: a Prometheus data
source chosen at import, a 6-hour window, panels on a 24-column grid.

Run it after changing a panel: `python3 deploy/grafana/generate.py`. A test
(tests/dashboards.rs) checks that every metric a query names is one a real
node exports.
"""
import json
import pathlib

HERE = pathlib.Path(__file__).parent
DS = {"type": "prometheus", "uid": "${datasource}"}


def panel(title, kind, exprs, unit=None, w=12, h=8, legend=None, description=None):
    targets = [{"datasource": DS, "expr": e, "refId": chr(65 + i), "legendFormat": (legend[i] if legend else "")} for i, e in enumerate(exprs)]
    p = {"title": title, "type": kind, "datasource": DS, "targets": targets, "gridPos": {"w": w, "h": h},
         "fieldConfig": {"defaults": {}, "overrides": []}, "options": {}}
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    if description:
        p["description"] = description
    if kind == "table":
        for t in targets:
            t["format"] = "table"
            t["instant"] = True
    return p


def dashboard(uid, title, description, panels, variables=()):
    x = y = 0
    row_h = 0
    for i, p in enumerate(panels):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y = 0, y + row_h
            row_h = 0
        p["gridPos"].update({"x": x, "y": y})
        p["id"] = i + 1
        x += w
        row_h = max(row_h, h)
    templating = [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]
    templating += list(variables)
    return {
        "uid": uid, "title": title, "description": description, "tags": ["zhanqun"], "timezone": "browser",
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"}, "panels": panels, "templating": {"list": templating},
        "annotations": {"list": []},
    }


def tenant_variable():
    return {"name": "tenant", "type": "query", "label": "站点", "datasource": DS, "refresh": 2,
            "query": {"query": "label_values(zhanqun_compliance_level, tenant)", "refId": "tenants"}}


LEVEL = "max by (tenant) (zhanqun_compliance_level)"
DASHBOARDS = {
    "overview": dashboard("zhanqun-overview", "zhanqun · 平台总览", "Every site at a glance: compliance, traffic, errors, cache and search.", [
        panel("Sites at veto risk (单项否决风险)", "stat", [f"count({LEVEL} == 2) or vector(0)"], w=6, h=4),
        panel("Sites with warnings (预警)", "stat", [f"count({LEVEL} == 1) or vector(0)"], w=6, h=4),
        panel("Overdue reposts", "stat", ["sum(max by (tenant) (zhanqun_reposts_overdue))"], w=6, h=4),
        panel("Page cache hit ratio", "stat", ['sum(rate(zhanqun_page_cache_requests_total{result="hit"}[5m])) / sum(rate(zhanqun_page_cache_requests_total[5m]))'], unit="percentunit", w=6, h=4),
        panel("Requests per second by site", "timeseries", ["sum by (tenant) (rate(zhanqun_http_requests_total[5m]))"], unit="reqps", legend=["{{tenant}}"]),
        panel("Server errors (5xx) per second by site", "timeseries", ['sum by (tenant) (rate(zhanqun_http_requests_total{code="5xx"}[5m]))'], unit="reqps", legend=["{{tenant}}"]),
        panel("p99 latency by route", "timeseries", ["histogram_quantile(0.99, sum by (le, route) (rate(zhanqun_http_request_duration_seconds_bucket[5m])))"], unit="s", legend=["{{route}}"]),
        panel("Search latency (engine)", "timeseries", [
            "histogram_quantile(0.5, sum by (le) (rate(zhanqun_search_duration_seconds_bucket[5m])))",
            "histogram_quantile(0.99, sum by (le) (rate(zhanqun_search_duration_seconds_bucket[5m])))"], unit="s", legend=["p50", "p99"]),
        panel("Sites ranked (red = 2, warn = 1, summed over monitors)", "table", ["sort_desc(sum by (tenant) (max by (tenant, monitor) (zhanqun_compliance_level)))"], w=24),
    ]),
    "compliance": dashboard("zhanqun-compliance", "zhanqun · 站点检查指标", "One site as the national 政府网站 inspection sees it; choose the site above.", [
        panel("Monitors (0 ok, 1 warn, 2 veto risk)", "table", ['max by (monitor) (zhanqun_compliance_level{tenant="$tenant"})'], w=12, h=9),
        panel("Measured values", "table", ['max by (monitor) (zhanqun_compliance_value{tenant="$tenant"})'], w=12, h=9),
        panel("Home page probes failed, % over 7 days", "timeseries", ['max(zhanqun_compliance_value{tenant="$tenant",monitor="home_reachable"})'], unit="percent"),
        panel("Days since the home page's newest item", "timeseries", ['max(zhanqun_compliance_value{tenant="$tenant",monitor="home_freshness"})'], unit="d"),
        panel("Stale and empty columns", "timeseries", [
            'max(zhanqun_compliance_value{tenant="$tenant",monitor="stale_columns"})',
            'max(zhanqun_compliance_value{tenant="$tenant",monitor="empty_columns"})'], legend=["stale", "empty"]),
        panel("Requests per second by route", "timeseries", ['sum by (route) (rate(zhanqun_http_requests_total{tenant="$tenant"}[5m]))'], unit="reqps", legend=["{{route}}"]),
        panel("Overdue reposts", "timeseries", ['max(zhanqun_reposts_overdue{tenant="$tenant"})']),
        panel("Monitor round duration per node", "timeseries", ["zhanqun_compliance_round_seconds"], unit="s", legend=["{{instance}}"]),
    ], variables=[tenant_variable()]),
    "cluster": dashboard("zhanqun-cluster", "zhanqun · 集群健康", "Raft: leader, terms, the log and how far each node is behind; writes and snapshots.", [
        panel("Leader", "stat", ["max(zhanqun_raft_is_leader)"], w=6, h=4, description="0: no node leads; writes are refused"),
        panel("Term", "stat", ["max(zhanqun_raft_term)"], w=6, h=4),
        panel("Leader changes (1h)", "stat", ["sum(increase(zhanqun_raft_leader_changes_total[1h]))"], w=6, h=4),
        panel("Nodes up", "stat", ['count(zhanqun_raft_term)'], w=6, h=4),
        panel("Entries behind the longest log", "timeseries", ["scalar(max(zhanqun_raft_last_log_index)) - zhanqun_raft_applied_index"], legend=["{{instance}}"]),
        panel("Applied index", "timeseries", ["zhanqun_raft_applied_index"], legend=["{{instance}}"]),
        panel("Apply latency (state machine, per entry)", "timeseries", [
            "histogram_quantile(0.5, sum by (le) (rate(zhanqun_apply_duration_seconds_bucket[5m])))",
            "histogram_quantile(0.99, sum by (le) (rate(zhanqun_apply_duration_seconds_bucket[5m])))"], unit="s", legend=["p50", "p99"]),
        panel("Writes forwarded to the leader", "timeseries", ["rate(zhanqun_raft_forwarded_writes_total[5m])"], unit="ops", legend=["{{instance}}"]),
        panel("Snapshot build / install time", "timeseries", [
            "rate(zhanqun_raft_snapshot_build_seconds_sum[1h]) / rate(zhanqun_raft_snapshot_build_seconds_count[1h])",
            "rate(zhanqun_raft_snapshot_install_seconds_sum[1h]) / rate(zhanqun_raft_snapshot_install_seconds_count[1h])"], unit="s", legend=["build {{instance}}", "install {{instance}}"]),
        panel("Page cache bytes", "timeseries", ["zhanqun_page_cache_bytes"], unit="bytes", legend=["{{instance}}"]),
        panel("Members whose content differs (same index)", "timeseries", ["zhanqun_replica_divergence"], legend=["{{instance}}"],
              description="0 everywhere: every replica holds the same rows. A node that differs from all others was changed outside the log."),
        panel("Since the last conclusive replica comparison", "timeseries", ["time() - zhanqun_replica_compare_timestamp_seconds"], unit="s", legend=["{{instance}}"]),
        panel("Log format level (rolling upgrades)", "timeseries", ["zhanqun_cluster_log_level"], legend=["{{instance}}"],
              description="The level every member reads, as each node has applied it. It rises once the last node of a rolling upgrade runs the new version; until then changes only the new version can log are refused (deploy/upgrading.md)."),
    ]),
    "security": dashboard("zhanqun-security", "zhanqun · 安全事件", "What 等级保护 assessors ask to see: lockouts, refusals, calls to the cluster port without the secret.", [
        panel("Login lockouts (15m)", "stat", ["sum(increase(zhanqun_login_lockouts_total[15m]))"], w=8, h=4),
        panel("API refusals (401/403, 15m)", "stat", ["sum(increase(zhanqun_api_refusals_total[15m]))"], w=8, h=4),
        panel("Refused cluster-port calls (15m)", "stat", ["sum(increase(zhanqun_raft_refused_peer_calls_total[15m]))"], w=8, h=4),
        panel("Pages withheld by the tamper checker", "timeseries", ["sum by (tenant, instance) (zhanqun_tampered_pages) > 0"], legend=["{{tenant}} on {{instance}}"]),
        panel("Theme files changed on disk", "timeseries", ["zhanqun_theme_files_changed"], legend=["{{instance}}"],
              description="Templates of --theme-dir written after the node read them; pages are still rendered from what was read"),
        panel("Days until each site's HTTPS certificate expires", "timeseries", ["(min by (tenant) (zhanqun_tls_cert_expiry_seconds) - time()) / 86400"], legend=["{{tenant}}"],
              description="Certificates zhanqun serves itself by SNI (--tls-listen); the alert fires under 14 days"),
        panel("Lockouts per node", "timeseries", ["increase(zhanqun_login_lockouts_total[5m])"], legend=["{{instance}}"]),
        panel("API refusals by status", "timeseries", ["sum by (status) (rate(zhanqun_api_refusals_total[5m]))"], unit="reqps", legend=["{{status}}"]),
        panel("Refused cluster-port calls by reason", "timeseries", ["sum by (reason) (rate(zhanqun_raft_refused_peer_calls_total[5m]))"], unit="reqps", legend=["{{reason}}"]),
        panel("Client errors (4xx) by route", "timeseries", ['sum by (route) (rate(zhanqun_http_requests_total{code="4xx"}[5m]))'], unit="reqps", legend=["{{route}}"], w=24),
    ]),
}

if __name__ == "__main__":
    for name, d in DASHBOARDS.items():
        (HERE / f"{name}.json").write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote deploy/grafana/{name}.json ({len(d['panels'])} panels)")
