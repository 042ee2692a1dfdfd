"""Tagging: every taggable resource carries the required tags (cost allocation, ownership, cleanup)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import ADVISORY, UNKNOWN, AnyPolicy, Ctx, Doc, SciflowResourcePolicy, schema

AREA = "hygiene"
DEFAULT_REQUIRED_TAGS = ("project", "stack")

#: Types that accept ``tags`` (checked against pulumi_aws by tests/policy). Any other resource whose inputs
#: contain ``tags`` is checked as well; types without tags (LayerVersion, Permission, Schedule, FunctionUrl,
#: RolePolicy, bucket side resources ...) never are.
TAGGABLE_TYPES: frozenset[str] = frozenset((
    "aws:lambda/function:Function", "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/codeSigningConfig:CodeSigningConfig",
    "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/user:User", "aws:iam/instanceProfile:InstanceProfile",
    "aws:sqs/queue:Queue", "aws:sns/topic:Topic", "aws:dynamodb/table:Table", "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm", "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/eventBus:EventBus", "aws:sfn/stateMachine:StateMachine", "aws:sfn/activity:Activity",
    "aws:scheduler/scheduleGroup:ScheduleGroup", "aws:s3/bucket:Bucket", "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:secretsmanager/secret:Secret", "aws:ssm/parameter:Parameter", "aws:ecr/repository:Repository",
    "aws:glue/job:Job", "aws:glue/crawler:Crawler", "aws:athena/workgroup:Workgroup",
))
#: Taggable, but tags there are not used for cost allocation (S3 object tags cost money per object).
DEFAULT_EXCLUDED_TYPES = ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")


def _provider_default_tags(args: ResourceValidationArgs) -> dict[str, Any]:
    """``defaultTags.tags`` of the resource's provider (nested provider config may arrive JSON-encoded)."""
    provider = args.provider
    if provider is None:
        return {}
    try:
        default_tags = provider.props.get("defaultTags")
    except Exception:  # an unknown provider input: treat as no default tags
        return {}
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except json.JSONDecodeError:
            return {}
    if isinstance(default_tags, Mapping):
        tags = default_tags.get("tags")
        if isinstance(tags, Mapping):
            return dict(tags)
    return {}


def _required_tags(ctx: Ctx, args: ResourceValidationArgs) -> None:
    excluded = set(ctx.config.get("excludeTypes", DEFAULT_EXCLUDED_TYPES))
    if args.resource_type in excluded:
        return
    raw = ctx.get("tags")
    if args.resource_type not in TAGGABLE_TYPES and raw is None:
        return
    if raw is UNKNOWN:
        return
    tags = {**_provider_default_tags(args), **ctx.mapping(raw)}
    required = list(ctx.config.get("requiredTags", DEFAULT_REQUIRED_TAGS))
    missing = [t for t in required if tags.get(t) in (None, "")]
    if missing:
        ctx.report(f"Missing required tags: {', '.join(missing)}. Components tag every resource from the stack "
                   "config (sciflow:tags plus project and stack); pass tags=... or the provider's default_tags.")


AWS_RESOURCE_REQUIRED_TAGS = SciflowResourcePolicy(
    name="aws-resource-required-tags",
    description="Every taggable AWS resource must carry the required tags (default: project, stack).",
    resource_types=(), check=_required_tags, enforcement_level=ADVISORY, severity=Severity.LOW, area=AREA,
    config_schema=schema(
        requiredTags={"type": "array", "items": {"type": "string"}, "default": list(DEFAULT_REQUIRED_TAGS),
                      "description": "Tag keys every taggable resource must have, with a non-empty value."},
        excludeTypes={"type": "array", "items": {"type": "string"}, "default": list(DEFAULT_EXCLUDED_TYPES),
                      "description": "Resource types not to check."}),
    doc=Doc(why="Tags drive cost allocation per project and stack, and find what a stack left behind.",
            fix="Pass tags=... on every taggable resource, or default_tags on the aws provider.",
            unknown="An unknown tags map or tag value counts as set (values are usually literal strings).",
            references=("sciflow", "AWS tagging best practices")),
    unknown="ignore")

POLICIES: list[AnyPolicy] = [AWS_RESOURCE_REQUIRED_TAGS]
