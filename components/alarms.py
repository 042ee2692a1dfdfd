"""CloudWatch alarms with sciflow's defaults: missing data is not breaching, actions go to an optional topic."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def create_alarm(name: str, *, namespace: str, metric_name: str, dimensions: Mapping[str, pulumi.Input[str]],
                 parent: pulumi.Resource, tags: Mapping[str, str], description: str, threshold: float = 0,
                 statistic: str = "Sum", period_s: int = 300, evaluation_periods: int = 1,
                 comparison: str = "GreaterThanThreshold", topic_arn: pulumi.Input[str] | None = None
                 ) -> aws.cloudwatch.MetricAlarm:
    """One metric alarm ``<name>-alarm``; with ``topic_arn`` it notifies on ALARM and OK.

    Example
    -------
    Inside a component's constructor (a resource needs a running Pulumi program):

    >>> create_alarm("daily-stats-errors", namespace="AWS/Lambda", metric_name="Errors",
    ...              dimensions={"FunctionName": fn.name}, parent=self, tags=tags,
    ...              description="...")  # doctest: +SKIP
    """
    actions = [topic_arn] if topic_arn is not None else []
    return aws.cloudwatch.MetricAlarm(
        f"{name}-alarm",
        alarm_description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dict(dimensions),
        statistic=statistic,
        period=period_s,
        evaluation_periods=evaluation_periods,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data="notBreaching",
        alarm_actions=actions,
        ok_actions=actions,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
