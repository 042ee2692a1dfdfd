"""ARN formats, so a generic mock answer gives every resource the ARN AWS would (AWS's documented formats).

``arn_for("aws:sqs/queue:Queue", "jobs", region="eu-west-1", account="123456789012")`` ->
``arn:aws:sqs:eu-west-1:123456789012:jobs``. Types not listed get the most common shape,
``arn:aws:<service>:<region>:<account>:<resource-type>/<name>`` with the service prefix of the SDK module
(``sfn`` -> ``states``) and the class name in kebab case, which is right for most services and at least a
well-formed, scoped ARN for the rest (never a wildcard).

A deprecated or older alias of a type (``aws:s3/bucketV2:BucketV2`` for ``aws:s3/bucket:Bucket``, from the
SDK's own ``pulumi.Alias`` declarations, :func:`synth.schema.canonical`) gets the answer of its current
type, by rule: the tables below name current types only.
"""

from __future__ import annotations

import re

from synth.schema import canonical, split_token

#: type token -> format; ``{r}`` region, ``{a}`` account, ``{n}`` physical name
FORMATS: dict[str, str] = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{n}",
    "aws:s3/directoryBucket:DirectoryBucket": "arn:aws:s3express:{r}:{a}:bucket/{n}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{r}:{a}:{n}",
    "aws:sns/topic:Topic": "arn:aws:sns:{r}:{a}:{n}",
    "aws:iam/role:Role": "arn:aws:iam::{a}:role/{n}",
    "aws:iam/user:User": "arn:aws:iam::{a}:user/{n}",
    "aws:iam/group:Group": "arn:aws:iam::{a}:group/{n}",
    "aws:iam/policy:Policy": "arn:aws:iam::{a}:policy/{n}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:aws:iam::{a}:instance-profile/{n}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "arn:aws:iam::{a}:oidc-provider/{n}",
    "aws:lambda/function:Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "aws:lambda/layerVersion:LayerVersion": "arn:aws:lambda:{r}:{a}:layer:{n}:1",
    "aws:lambda/alias:Alias": "arn:aws:lambda:{r}:{a}:function:{n}",
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "aws:kms/key:Key": "arn:aws:kms:{r}:{a}:key/{n}",
    "aws:kms/alias:Alias": "arn:aws:kms:{r}:{a}:{n}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{r}:{a}:log-group:{n}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{r}:{a}:rule/{n}",
    "aws:cloudwatch/eventBus:EventBus": "arn:aws:events:{r}:{a}:event-bus/{n}",
    "aws:cloudwatch/eventArchive:EventArchive": "arn:aws:events:{r}:{a}:archive/{n}",
    "aws:cloudwatch/eventConnection:EventConnection": "arn:aws:events:{r}:{a}:connection/{n}",
    "aws:cloudwatch/eventApiDestination:EventApiDestination": "arn:aws:events:{r}:{a}:api-destination/{n}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{r}:{a}:alarm:{n}",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "arn:aws:cloudwatch:{r}:{a}:alarm:{n}",
    "aws:cloudwatch/dashboard:Dashboard": "arn:aws:cloudwatch::{a}:dashboard/{n}",
    "aws:sfn/stateMachine:StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "aws:sfn/activity:Activity": "arn:aws:states:{r}:{a}:activity:{n}",
    "aws:scheduler/schedule:Schedule": "arn:aws:scheduler:{r}:{a}:schedule/default/{n}",
    "aws:scheduler/scheduleGroup:ScheduleGroup": "arn:aws:scheduler:{r}:{a}:schedule-group/{n}",
    "aws:secretsmanager/secret:Secret": "arn:aws:secretsmanager:{r}:{a}:secret:{n}-AbCdEf",
    "aws:ssm/parameter:Parameter": "arn:aws:ssm:{r}:{a}:parameter/{n}",
    "aws:kinesis/stream:Stream": "arn:aws:kinesis:{r}:{a}:stream/{n}",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": "arn:aws:firehose:{r}:{a}:deliverystream/{n}",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{r}:{a}:repository/{n}",
    "aws:ecs/cluster:Cluster": "arn:aws:ecs:{r}:{a}:cluster/{n}",
    "aws:ecs/taskDefinition:TaskDefinition": "arn:aws:ecs:{r}:{a}:task-definition/{n}:1",
    "aws:ecs/service:Service": "arn:aws:ecs:{r}:{a}:service/{n}",
    "aws:rds/instance:Instance": "arn:aws:rds:{r}:{a}:db:{n}",
    "aws:rds/cluster:Cluster": "arn:aws:rds:{r}:{a}:cluster:{n}",
    "aws:apigateway/restApi:RestApi": "arn:aws:apigateway:{r}::/restapis/{n}",
    "aws:apigatewayv2/api:Api": "arn:aws:apigateway:{r}::/apis/{n}",
    "aws:cognito/userPool:UserPool": "arn:aws:cognito-idp:{r}:{a}:userpool/{n}",
    "aws:glue/job:Job": "arn:aws:glue:{r}:{a}:job/{n}",
    "aws:glue/catalogDatabase:CatalogDatabase": "arn:aws:glue:{r}:{a}:database/{n}",
    "aws:athena/workgroup:Workgroup": "arn:aws:athena:{r}:{a}:workgroup/{n}",
    "aws:efs/fileSystem:FileSystem": "arn:aws:elasticfilesystem:{r}:{a}:file-system/{n}",
    "aws:ec2/vpc:Vpc": "arn:aws:ec2:{r}:{a}:vpc/{n}",
    "aws:ec2/subnet:Subnet": "arn:aws:ec2:{r}:{a}:subnet/{n}",
    "aws:ec2/securityGroup:SecurityGroup": "arn:aws:ec2:{r}:{a}:security-group/{n}",
    "aws:ec2/instance:Instance": "arn:aws:ec2:{r}:{a}:instance/{n}",
    "aws:acm/certificate:Certificate": "arn:aws:acm:{r}:{a}:certificate/{n}",
    "aws:wafv2/webAcl:WebAcl": "arn:aws:wafv2:{r}:{a}:regional/webacl/{n}",
    "aws:codebuild/project:Project": "arn:aws:codebuild:{r}:{a}:project/{n}",
    "aws:batch/jobQueue:JobQueue": "arn:aws:batch:{r}:{a}:job-queue/{n}",
}

#: computed identifiers other than the ARN that programs pass around, in AWS's format ({arn} is the ARN)
EXTRA_OUTPUTS: dict[str, dict[str, str]] = {
    "aws:sqs/queue:Queue": {"url": "https://sqs.{r}.amazonaws.com/{a}/{n}"},
    "aws:lambda/function:Function": {
        "qualifiedArn": "{arn}:$LATEST",
        "invokeArn": "arn:aws:apigateway:{r}:lambda:path/2015-03-31/functions/{arn}/invocations"},
    "aws:dynamodb/table:Table": {"streamArn": "{arn}/stream/2026-01-01T00:00:00.000"},
}
#: the output the provider uses as the resource's ID, where it is not the physical name
ID_OUTPUT: dict[str, str] = {
    "aws:sqs/queue:Queue": "url", "aws:sns/topic:Topic": "arn", "aws:iam/policy:Policy": "arn",
    "aws:sfn/stateMachine:StateMachine": "arn", "aws:lambda/layerVersion:LayerVersion": "arn",
}

#: SDK module -> IAM service prefix, where the two differ
SERVICES: dict[str, str] = {
    "sfn": "states", "cloudwatch": "cloudwatch", "cognito": "cognito-idp", "efs": "elasticfilesystem",
    "elasticloadbalancingv2": "elasticloadbalancing", "lb": "elasticloadbalancing", "alb": "elasticloadbalancing",
    "apigatewayv2": "apigateway", "opensearch": "es", "elasticsearch": "es", "msk": "kafka",
    "cloudfront": "cloudfront", "route53": "route53", "appsync": "appsync", "eks": "eks",
}
#: services whose ARNs carry no region (IAM, S3, CloudFront, Route 53 ...)
GLOBAL = {"iam", "s3", "cloudfront", "route53", "organizations", "waf"}


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def arn_for(token: str, name: str, *, region: str, account: str) -> str:
    """The ARN of a resource of type ``token`` whose physical name (or id) is ``name``."""
    token = canonical(token)
    template = FORMATS.get(token)
    if template is None:
        _, module, cls = split_token(token)
        service = SERVICES.get(module, module)
        where = "" if service in GLOBAL else region
        template = f"arn:aws:{service}:{where}:{{a}}:{kebab(cls)}/{{n}}"
    return template.format(r=region, a=account, n=name)
