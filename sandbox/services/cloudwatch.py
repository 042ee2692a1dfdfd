"""CloudWatch: log groups, metric alarms and dashboards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, compact, exists, json_text, named, resource, tags_kv, tags_map, to_int
from synth import MockContext
from synth.graph import Resource

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@resource(LOG_GROUP)
class LogGroup:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out, max_len=512)
        out["arn"] = m.arn("logs", f"log-group:{name}")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        logs = d.client("logs")
        name = str(res.outputs.get("name") or res.id)
        try:
            logs.create_log_group(**compact({
                "logGroupName": name, "kmsKeyId": inputs.get("kmsKeyId"), "tags": tags_map(inputs.get("tags")),
            }))
        except ClientError as exc:
            if not exists(exc):
                raise
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(inputs["retentionInDays"]))


@resource(ALARM)
class MetricAlarm:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out, max_len=255)
        out["arn"] = m.arn("cloudwatch", f"alarm:{name}")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        def metric(query: Mapping[str, Any]) -> dict[str, Any]:
            out = compact({"Id": query["id"], "Expression": query.get("expression"), "Label": query.get("label"),
                           "ReturnData": query.get("returnData"), "Period": to_int(query.get("period"))})
            stat = query.get("metric")
            if stat:
                out["MetricStat"] = compact({
                    "Metric": compact({"Namespace": stat.get("namespace"), "MetricName": stat.get("metricName"),
                                       "Dimensions": [{"Name": k, "Value": str(v)}
                                                      for k, v in sorted((stat.get("dimensions") or {}).items())]}),
                    "Period": to_int(stat.get("period")), "Stat": stat.get("stat"), "Unit": stat.get("unit")})
            return out

        d.client("cloudwatch").put_metric_alarm(**compact({
            "AlarmName": str(res.outputs.get("name") or res.id),
            "AlarmDescription": inputs.get("alarmDescription"),
            "ActionsEnabled": inputs.get("actionsEnabled"),
            "AlarmActions": list(inputs.get("alarmActions") or []),
            "OKActions": list(inputs.get("okActions") or []),
            "InsufficientDataActions": list(inputs.get("insufficientDataActions") or []),
            "MetricName": inputs.get("metricName"), "Namespace": inputs.get("namespace"),
            "Statistic": inputs.get("statistic"), "ExtendedStatistic": inputs.get("extendedStatistic"),
            "Dimensions": [{"Name": k, "Value": str(v)} for k, v in sorted((inputs.get("dimensions") or {}).items())],
            "Period": to_int(inputs.get("period")), "Unit": inputs.get("unit"),
            "EvaluationPeriods": to_int(inputs.get("evaluationPeriods")) or 1,
            "DatapointsToAlarm": to_int(inputs.get("datapointsToAlarm")),
            "Threshold": float(inputs["threshold"]) if inputs.get("threshold") is not None else None,
            "ComparisonOperator": inputs.get("comparisonOperator"),
            "TreatMissingData": inputs.get("treatMissingData"),
            "Metrics": [metric(q) for q in inputs.get("metricQueries") or []],
            "Tags": tags_kv(inputs.get("tags")),
        }))


@resource("aws:cloudwatch/dashboard:Dashboard")
class Dashboard:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out, key="dashboardName")
        out["dashboardArn"] = f"arn:aws:cloudwatch::{m.account}:dashboard/{name}"
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        d.client("cloudwatch").put_dashboard(DashboardName=str(res.outputs.get("dashboardName") or res.id),
                                             DashboardBody=json_text(inputs.get("dashboardBody")) or "{}")
